#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# C++: sealloc.h compiles as C++ (its SEAL_ASSIGN included) from C++11 on;
# sealloc.hpp compiles on its own with strict warnings and `make install`
# installs it; the C++ test program (tests/cxx/, built by `make
# test-programs`) passes: a sealed std::vector/std::map lookup table answers
# lookups and a write to it faults in a forked child.
set -u
cd "$(dirname "$0")/../.."
B=build/${VARIANT:-plain}
CXX=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# syntax NAME STD SOURCE: compile SOURCE (stdin) with -Werror and strict warnings.
syntax() {
    local name=$1 std=$2
    if $CXX -std="$std" -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Werror -Iinclude \
        -x c++ -fsyntax-only - >"$tmp/log" 2>&1; then
        echo "PASS $name"
    else
        echo "FAIL $name"; sed 's/^/  | /' "$tmp/log"
    fi
}

for std in c++11 c++17 c++20; do
    syntax "sealloc.h as $std, SEAL_ASSIGN" "$std" <<'EOF_C'
#include <sealloc.h>
struct rule { int limit; const char *path; };
int f(rule *r, const rule *c) { return SEAL_ASSIGN(r->limit, 10) | SEAL_ASSIGN(c->path, "x"); }
EOF_C
done
for std in c++17 c++20; do
    syntax "sealloc.hpp alone as $std" "$std" <<'EOF_C'
#include <sealloc.hpp>
struct rule { int limit; };
void f(seal::cache<rule> &c, seal::pool &p, const rule *r)
{
    c.seal(); seal::write(c.require(r).limit, 1); p.seal(); c.unseal(); p.unseal();
    seal::allocator<int> a(p); a.deallocate(a.allocate(1), 1);
}
EOF_C
done

if make -s --no-print-directory install DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/log" 2>&1 &&
    cmp -s include/sealloc.hpp "$tmp/root/usr/include/sealloc.hpp"; then
    echo "PASS make install: sealloc.hpp"
else
    echo "FAIL make install: sealloc.hpp"; sed 's/^/  | /' "$tmp/log"
fi

bin=$B/cxx/test_cxx
if [ -x "$bin" ]; then
    "$bin"
    rc=$?
    [ $rc -eq 0 ] || echo "FAIL test_cxx: exit status $rc"
else
    echo "FAIL test_cxx: $bin not built (make test-programs)"
fi
exit 0
