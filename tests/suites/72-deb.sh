#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian packaging (debian/): `make deb` builds libsealloc0 and
# libsealloc-dev in a copy of the tree; lintian reports no error; the
# packages, unpacked with dpkg -x into a throwaway root, hold what they
# promise (soname, symbols file listing every public function, headers,
# static library, pkg-config file, man pages, a machine-readable copyright
# file; every source file carries an SPDX line), and C and C++ programs build
# against that root through pkg-config, shared and static, and run.
set -u
cd "$(dirname "$0")/../.."
unset MAKEFLAGS MFLAGS MAKELEVEL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out root=$tmp/root
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$root/usr/lib/$ma

if ! make -s --no-print-directory deb DEB_OUT="$out" DEB_BUILD_OPTIONS="nocheck parallel=2" \
    >"$tmp/make.log" 2>&1; then
    echo "FAIL deb-build: make deb failed"; sed 's/^/  | /' "$tmp/make.log"; exit 0
fi
echo "PASS deb-build"

sed 's/^/  lintian: /' "$out/lintian.txt"
if grep -q '^E:' "$out/lintian.txt"; then echo "FAIL lintian: errors"; else echo "PASS lintian: no error"; fi

for p in libsealloc0 libsealloc-dev; do
    deb=$(ls "$out/${p}_"*.deb 2>/dev/null | head -1)
    if [ -z "$deb" ]; then echo "FAIL unpack $p: no package"; continue; fi
    dpkg -x "$deb" "$root" && dpkg-deb -e "$deb" "$tmp/ctrl-$p" && echo "PASS unpack $p" ||
        echo "FAIL unpack $p"
done

# expect NAME COMMAND...: PASS if COMMAND succeeds, else FAIL with its output.
expect() {
    local name=$1; shift
    if "$@" >"$tmp/log" 2>&1; then echo "PASS $name"
    else echo "FAIL $name"; sed 's/^/  | /' "$tmp/log"; fi
}

expect soname sh -c "readelf -d '$lib/libsealloc.so.0' | grep -q 'SONAME.*libsealloc.so.0'"
missing=$(sed -n 's/^SEALLOC_API[^(]*[ *]\([a-z_0-9]*\)(.*/\1/p' include/sealloc.h | while read -r f; do
    grep -q "^ $f@Base " "$tmp/ctrl-libsealloc0/symbols" 2>/dev/null || echo "$f"; done)
[ -z "$missing" ] && echo "PASS symbols file lists every public function" ||
    echo "FAIL symbols file: missing" $missing
for f in usr/include/sealloc.h usr/include/sealloc.hpp "usr/lib/$ma/libsealloc.a" \
    "usr/lib/$ma/libsealloc.so" "usr/lib/$ma/pkgconfig/sealloc.pc" usr/share/man/man7/sealloc.7.gz; do
    [ -e "$root/$f" ] && echo "PASS dev file $f" || echo "FAIL dev file $f: missing"
done
# The license: the package's copyright file is machine-readable and names
# MIT (and GPL-2.0-only for the kernel series); every source file of the
# tree carries its SPDX line (scripts/spdx adds them).
expect "copyright file: machine-readable, MIT" sh -c "
    f='$root/usr/share/doc/libsealloc0/copyright'
    head -1 \"\$f\" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' &&
    grep -qx 'License: MIT' \"\$f\" && grep -qx 'License: GPL-2.0-only' \"\$f\" && ! grep -qi unstated \"\$f\""
expect "spdx: every source file names its license" scripts/spdx --check
expect "man page alias seal_pool_free(3)" \
    sh -c "MANWIDTH=80 man -M '$root/usr/share/man' 3 seal_pool_free | grep -q seal_pool_realloc"

cat >"$tmp/prog.c" <<'EOF_C'
#include <sealloc.h>
#include <stdio.h>
int main(void)
{
    seal_pool *p = seal_pool_create("deb", 0);
    char *s = p ? seal_pool_strdup(p, "sealed") : NULL;
    if (s == NULL || seal_pool_seal(p) != 0)
        return 1;
    seal_pool_require(p, s);
    printf("%s %d\n", s, seal_is_sealed(s));
    seal_pool_destroy(p);
    return 0;
}
EOF_C
cat >"$tmp/prog.cpp" <<'EOF_C'
#include <sealloc.hpp>
#include <cstdio>
#include <vector>
int main()
{
    seal::pool p("deb++");
    auto *v = p.make<std::vector<int, seal::allocator<int>>>(seal::allocator<int>(p));
    v->assign({1, 2, 3});
    p.seal();
    std::printf("sealed %d\n", seal_is_sealed(v->data()) + seal_is_sealed(v));
    return 0;
}
EOF_C
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$lib/pkgconfig
cflags=$(pkg-config --cflags sealloc) libs=$(pkg-config --libs sealloc) static=$(pkg-config --static --libs sealloc)
expect "pkg-config points into the root" sh -c "echo '$cflags $libs' | grep -q -- '-I$root/usr/include' && echo '$libs' | grep -q -- '-L$lib'"
expect "compile C, shared" cc -std=c11 -Wall -Werror $cflags "$tmp/prog.c" -o "$tmp/prog" $libs
expect "run C, shared, from the root" sh -c "LD_LIBRARY_PATH='$lib' '$tmp/prog' | grep -qx 'sealed 1' &&
    LD_LIBRARY_PATH='$lib' ldd '$tmp/prog' | grep -q '$lib/libsealloc.so.0'"
expect "compile C, static" cc -std=c11 -Wall -Werror $cflags "$tmp/prog.c" -o "$tmp/prog-static" \
    -Wl,-Bstatic $libs -Wl,-Bdynamic $static
expect "run C, static" sh -c "'$tmp/prog-static' | grep -qx 'sealed 1' && ! ldd '$tmp/prog-static' | grep -q libsealloc"
expect "compile C++17" g++ -std=c++17 -Wall -Wextra -Werror $cflags "$tmp/prog.cpp" -o "$tmp/progxx" $libs
expect "run C++17" sh -c "LD_LIBRARY_PATH='$lib' '$tmp/progxx' | grep -qx 'sealed 2'"
exit 0
