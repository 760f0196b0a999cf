/* SPDX-License-Identifier: MIT */
/*
 * test_cxx.cpp - the C++17 interface (include/sealloc.hpp) and the C++
 * branch of SEAL_ASSIGN.
 *
 * The central case: a lookup table made of standard containers (a
 * std::vector and a std::map with string keys), built once in a seal::pool
 * through seal::allocator, with the container objects themselves in the
 * pool, then sealed. Lookups still answer; a store to an element, to a map
 * value or to the container's own header (an insertion) dies of SIGSEGV in
 * a forked child, and the fault handler names the pool.
 */
#include <sealloc.hpp>

#include "check.h"

#include <cerrno>
#include <map>
#include <string>
#include <system_error>
#include <vector>

namespace {

using sstring = std::basic_string<char, std::char_traits<char>, seal::allocator<char>>;
using svector = std::vector<int, seal::allocator<int>>;
using smap = std::map<sstring, int, std::less<>, seal::allocator<std::pair<const sstring, int>>>;

struct table {
    svector squares;
    smap ids;
    explicit table(seal::pool &p) : squares(seal::allocator<int>(p)), ids(seal::allocator<int>(p)) {}
};

/* The sealed table every death test attacks. */
seal::pool *table_pool;
const table *tab;

void build_table()
{
    table_pool = new seal::pool("lookup");
    table *t = table_pool->make<table>(*table_pool);
    for (int i = 0; i < 1000; i++)
        t->squares.push_back(i * i);
    const char *names[] = {"alice", "bob", "carol", "a name long enough to live outside the SSO"};
    for (int i = 0; i < 4; i++)
        t->ids.emplace(sstring(names[i], seal::allocator<char>(*table_pool)), i + 1);
    table_pool->seal();
    tab = &table_pool->require(t);
}

/* The id of name, or 0 (std::map::at has no transparent overload). */
int id(const char *name)
{
    auto it = tab->ids.find(name);
    return it == tab->ids.end() ? 0 : it->second;
}

void test_sealed_lookup_table()
{
    CHECK(tab->squares.size() == 1000 && tab->squares[999] == 999 * 999);
    CHECK(id("bob") == 2);
    CHECK(id("a name long enough to live outside the SSO") == 4);
    CHECK(id("mallory") == 0);
    CHECK(seal_is_sealed(tab) == 1);
    CHECK(seal_is_sealed(tab->squares.data()) == 1);
    CHECK(seal_is_sealed(&tab->ids.begin()->second) == 1);
    CHECK(seal_is_sealed(tab->ids.rbegin()->first.data()) == 1);
    CHECK(table_pool->owns(tab));
}

void store_element(void *) { const_cast<int &>(tab->squares[3]) = 7; }
void store_map_value(void *) { const_cast<int &>(tab->ids.find("alice")->second) = 0; }
void insert_into_map(void *)
{
    sstring k("mallory", seal::allocator<char>(*table_pool));
    const_cast<smap &>(tab->ids).emplace(std::move(k), 0);
}

void test_sealed_table_faults()
{
    CHECK(seal_fault_handler_install() == 0);
    CHECK(expect_death(store_element, nullptr, SIGSEGV, "pool \"lookup\""));
    CHECK(expect_death(store_map_value, nullptr, SIGSEGV, "pool \"lookup\""));
    CHECK(expect_death(insert_into_map, nullptr, SIGSEGV, "write to sealed memory"));
    CHECK(tab->squares[3] == 9 && id("alice") == 1);
}

struct rule {
    int limit;
    const char *path;
    int *destroyed;
    rule(int l, const char *p, int *d) : limit(l), path(p), destroyed(d) {}
    ~rule() { ++*destroyed; }
};

void test_typed_cache()
{
    int destroyed = 0;
    seal::cache<rule> rules("rules", seal::write_rare);
    rule *r = rules.make(100, "/srv/www", &destroyed);
    CHECK(r->limit == 100 && rules.owns(r));
    rules.seal();
    const rule &sealed = rules.require(r);
    CHECK(seal_is_sealed(&sealed) == 1);
    seal::write(sealed.limit, 10);
    CHECK(sealed.limit == 10);
    seal::publish(sealed.path, "/srv/new");
    CHECK(std::string(sealed.path) == "/srv/new");
    CHECK(SEAL_ASSIGN(r->limit, 20.0) == 0 && r->limit == 20);
    rule *fresh = rules.make(1, "/tmp", &destroyed);
    CHECK(seal_is_sealed(fresh) == 0);
    rules.destroy(fresh);
    rules.destroy(r);
    CHECK(destroyed == 2);
}

void test_write_errors()
{
    seal::pool plain("plain");
    int *x = plain.make<int>(5);
    plain.seal();
    try {
        seal::write(*x, 6);
        CHECK(!"seal::write to an owner without write_rare succeeded");
    } catch (const std::system_error &e) {
        CHECK(e.code() == std::errc::operation_not_permitted);
    }
    int on_stack = 0;
    try {
        seal::write(on_stack, 1);
        CHECK(!"seal::write to the stack succeeded");
    } catch (const std::system_error &e) {
        CHECK(e.code() == std::errc::invalid_argument);
    }
    errno = 0;
    CHECK(SEAL_ASSIGN(on_stack, 1) == -1 && errno == EINVAL);
    CHECK(*x == 5);
}

struct throws {
    explicit throws(bool t)
    {
        if (t)
            throw std::runtime_error("ctor");
    }
};

void test_errors_thrown()
{
    try {
        seal::cache<int> bad(nullptr);
        CHECK(!"a cache without a name was created");
    } catch (const std::system_error &e) {
        CHECK(e.code() == std::errc::invalid_argument);
    }
    seal::cache<throws> c("throws");
    bool caught = false;
    try {
        c.make(true);
    } catch (const std::runtime_error &) {
        caught = true;
    }
    CHECK(caught);
    seal::pool p("moved");
    seal::pool q(std::move(p));
    CHECK(p.get() == nullptr && q.get() != nullptr);
    seal::allocator<long> a(q);
    CHECK(a == seal::allocator<char>(q));
}

/* Teardown of sealed containers: their destructors store into the pool
 * (node links, the vector's pointers), so they run after an unseal; a
 * permanent pool refuses it. */
void test_unseal_for_teardown()
{
    seal::pool p("teardown");
    table *t = p.make<table>(p);
    for (int i = 0; i < 100; i++)
        t->squares.push_back(i);
    t->ids.emplace(sstring("a key long enough to live outside the SSO", seal::allocator<char>(p)), 1);
    p.seal();
    CHECK(seal_is_sealed(t) == 1 && seal_is_sealed(t->squares.data()) == 1);
    p.unseal();
    CHECK(seal_is_sealed(t) == 0 && seal_is_sealed(t->squares.data()) == 0);
    p.destroy(t);
    seal::pool perm("permanent", SEAL_PERMANENT);
    perm.make<int>(1);
    perm.seal();
    try {
        perm.unseal();
        CHECK(!"a permanent pool was unsealed");
    } catch (const std::system_error &e) {
        CHECK(e.code() == std::errc::operation_not_permitted);
    }
}

void forge(void *) { table_pool->require(new table(*table_pool)); }

void test_require_forged()
{
    CHECK(expect_death(forge, nullptr, SIGABRT, "seal_pool_require"));
}

} // namespace

int main()
{
    build_table();
    RUN(test_sealed_lookup_table);
    RUN(test_sealed_table_faults);
    RUN(test_typed_cache);
    RUN(test_write_errors);
    RUN(test_errors_thrown);
    RUN(test_require_forged);
    RUN(test_unseal_for_teardown);
    return check_exit();
}
