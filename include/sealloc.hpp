/* SPDX-License-Identifier: MIT */
/*
 * sealloc.hpp - header-only C++17 interface to sealloc (see sealloc(7)).
 *
 *   seal::cache<T>      a typed cache: make() constructs a T in it, destroy()
 *                       runs ~T and frees; seal(), unseal() (for teardown);
 *                       require() is the provenance check (aborts on a
 *                       forged or unsealed T).
 *   seal::pool          variable-size allocations; make<T>(), seal(), unseal(),
 *                       require(), and the memory behind seal::allocator.
 *   seal::allocator<T>  a standard allocator over a seal::pool, for
 *                       containers that are built once and then sealed: put
 *                       the container object itself in the pool too
 *                       (pool.make<std::vector<int, seal::allocator<int>>>(
 *                       seal::allocator<int>(pool))), fill it, seal the pool;
 *                       from then on const lookups work and any store faults.
 *   seal::write(f, v)   the write-rare update of one field (owner created
 *                       with seal::write_rare); seal::publish(slot, p) the
 *                       single-copy-atomic pointer store.
 *
 * Errors are thrown: std::bad_alloc when an allocation fails,
 * std::system_error (carrying errno) when a seal or a write fails; misuse
 * (a bad free, a failed require) aborts as in C. Handles are move-only and
 * destroy their cache or pool, which releases its memory WITHOUT running
 * the destructors of the objects still in it: destroy() those first if
 * their destructors matter.
 */
#ifndef SEALLOC_HPP
#define SEALLOC_HPP

#include <sealloc.h>

#include <cerrno>
#include <cstddef>
#include <limits>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

namespace seal {

/* Flags for cache and pool constructors (the C flags, renamed). */
inline constexpr unsigned permanent = SEAL_PERMANENT;
inline constexpr unsigned write_rare = SEAL_WRITE_RARE;

namespace detail {
[[noreturn]] inline void throw_errno(const char *what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

/* T(args...) built in the memory p; if the constructor throws, release(p)
 * and rethrow. */
template <class T, class Release, class... Args> T *construct(void *p, Release release, Args &&...args)
{
    try {
        return ::new (p) T(std::forward<Args>(args)...);
    } catch (...) {
        release(p);
        throw;
    }
}

/* A non-deduced context: publish()'s value converts to the slot's type. */
template <class T> struct same {
    using type = T;
};

/* Owns one C cache or pool handle, with the calls common to both. */
template <class H, void (*Destroy)(H *), int (*Seal)(H *), int (*Unseal)(H *),
          int (*Owns)(const H *, const void *), void (*Require)(const H *, const void *)>
class owner {
  public:
    explicit owner(H *h, const char *what) : h_(h)
    {
        if (h_ == nullptr)
            throw_errno(what);
    }
    owner(owner &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    owner &operator=(owner &&o) noexcept
    {
        if (this != &o)
            Destroy(std::exchange(h_, std::exchange(o.h_, nullptr)));
        return *this;
    }
    owner(const owner &) = delete;
    owner &operator=(const owner &) = delete;
    ~owner() { Destroy(h_); }

    H *get() const noexcept { return h_; }
    void seal(const char *what)
    {
        if (Seal(h_) != 0)
            throw_errno(what);
    }
    void unseal(const char *what)
    {
        if (Unseal(h_) != 0)
            throw_errno(what);
    }
    bool owns(const void *p) const noexcept { return Owns(h_, p) == 1; }
    void require(const void *p) const { Require(h_, p); }

  private:
    H *h_;
};
} // namespace detail

/* A cache of T objects. */
template <class T> class cache {
  public:
    static_assert(alignof(T) <= 4096, "seal::cache: over-aligned type");

    /* Throws std::system_error (EINVAL, ENOTSUP, ENOMEM) as
     * seal_cache_create(3) fails. */
    explicit cache(const char *name, unsigned flags = 0)
        : h_(seal_cache_create(name, sizeof(T), alignof(T), flags), "seal_cache_create")
    {
    }

    /* A new T(args...) on a writable page. Throws std::bad_alloc, or what
     * T's constructor throws (the memory is freed then). */
    template <class... Args> T *make(Args &&...args)
    {
        void *p = seal_cache_alloc(h_.get());
        if (p == nullptr)
            throw std::bad_alloc();
        return detail::construct<T>(p, [this](void *q) { seal_cache_free(h_.get(), q); },
                                    std::forward<Args>(args)...);
    }

    /* Run ~T and free (nullptr: no-op). A sealed object is never written by
     * the free; a destructor that stores into the object faults there.
     * Aborts if obj is not a live object of this cache. */
    void destroy(const T *obj)
    {
        if (obj == nullptr)
            return;
        obj->~T();
        seal_cache_free(h_.get(), const_cast<T *>(obj));
    }

    /* Seal every object made so far. Throws std::system_error. */
    void seal() { h_.seal("seal_cache_seal"); }
    /* Make every sealed object writable again, for a teardown whose
     * destructors store into the objects (seal_cache_unseal(3)). Throws
     * std::system_error (EPERM for a permanent cache). */
    void unseal() { h_.unseal("seal_cache_unseal"); }
    /* obj, if it is a live, sealed object of this cache; aborts otherwise. */
    const T &require(const T *obj) const { return h_.require(obj), *obj; }
    bool owns(const T *obj) const noexcept { return h_.owns(obj); }
    seal_cache *get() const noexcept { return h_.get(); }

  private:
    detail::owner<seal_cache, seal_cache_destroy, seal_cache_seal, seal_cache_unseal, seal_cache_owns,
                  seal_cache_require>
        h_;
};

/* A pool of variable-size allocations. */
class pool {
  public:
    /* Throws std::system_error as seal_pool_create(3) fails. */
    explicit pool(const char *name, unsigned flags = 0)
        : h_(seal_pool_create(name, flags), "seal_pool_create")
    {
    }

    /* size bytes (size 0 is taken as 1) aligned to align. Throws
     * std::bad_alloc. */
    void *allocate(std::size_t size, std::size_t align = alignof(std::max_align_t))
    {
        void *p = seal_pool_aligned_alloc(h_.get(), align, size != 0 ? size : 1);
        if (p == nullptr)
            throw std::bad_alloc();
        return p;
    }

    /* Free (nullptr: no-op); never writes sealed memory. Aborts if p is not
     * a live allocation of this pool. */
    void deallocate(const void *p) noexcept { seal_pool_free(h_.get(), const_cast<void *>(p)); }

    /* A new T(args...) in the pool, as cache<T>::make(). */
    template <class T, class... Args> T *make(Args &&...args)
    {
        return detail::construct<T>(allocate(sizeof(T), alignof(T)),
                                    [this](void *q) { deallocate(q); }, std::forward<Args>(args)...);
    }

    /* Run ~T and free, as cache<T>::destroy(). */
    template <class T> void destroy(const T *obj)
    {
        if (obj == nullptr)
            return;
        obj->~T();
        deallocate(obj);
    }

    /* Seal every allocation made so far. Throws std::system_error. */
    void seal() { h_.seal("seal_pool_seal"); }
    /* Make every sealed allocation writable again, as cache<T>::unseal()
     * (seal_pool_unseal(3)). */
    void unseal() { h_.unseal("seal_pool_unseal"); }
    /* obj, if it starts a live, sealed allocation of this pool; aborts
     * otherwise. */
    template <class T> const T &require(const T *obj) const { return h_.require(obj), *obj; }
    bool owns(const void *p) const noexcept { return h_.owns(p); }
    seal_pool *get() const noexcept { return h_.get(); }

  private:
    detail::owner<seal_pool, seal_pool_destroy, seal_pool_seal, seal_pool_unseal, seal_pool_owns,
                  seal_pool_require>
        h_;
};

/* A standard allocator drawing from a seal::pool, which must outlive every
 * container using it. Allocators of one pool compare equal. */
template <class T> class allocator {
  public:
    using value_type = T;

    explicit allocator(pool &p) noexcept : pool_(&p) {}
    template <class U> allocator(const allocator<U> &o) noexcept : pool_(o.source()) {}

    T *allocate(std::size_t n)
    {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T))
            throw std::bad_array_new_length();
        return static_cast<T *>(pool_->allocate(n * sizeof(T), alignof(T)));
    }
    void deallocate(T *p, std::size_t) noexcept { pool_->deallocate(p); }

    pool *source() const noexcept { return pool_; }

    template <class U> bool operator==(const allocator<U> &o) const noexcept
    {
        return pool_ == o.source();
    }
    template <class U> bool operator!=(const allocator<U> &o) const noexcept
    {
        return pool_ != o.source();
    }

  private:
    pool *pool_;
};

/* Write-rare update of one field of an object whose owner has write_rare:
 * seal::write(rule->limit, 10), also through a const path. The value is
 * converted as by assignment. Throws std::system_error (EINVAL: not inside
 * one live object; EPERM: owner without write_rare; ENOTSUP). */
template <class F, class V> void write(const F &field, const V &value)
{
    static_assert(std::is_trivially_copyable_v<F>, "seal::write: the field must be trivially copyable");
    if (SEAL_ASSIGN(const_cast<F &>(field), value) != 0)
        detail::throw_errno("seal_write");
}

/* Publish a pointer into a sealed slot: one single-copy-atomic store with
 * release ordering (seal_write_ptr(3)). Throws std::system_error. */
template <class P> void publish(P *const &slot, typename detail::same<P *>::type value)
{
    if (seal_write_ptr(const_cast<P **>(&slot), value) != 0)
        detail::throw_errno("seal_write_ptr");
}

} // namespace seal

#endif /* SEALLOC_HPP */
