#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make install PREFIX=<tmp>`, then tests/install/consumer.c built out of
# tree against the installed library only, through pkg-config: once with
# the shared library, once with the static one. Also checks what was
# installed: the header, both libraries, the soname links, the .pc file,
# and that the shared library exports nothing but the public API.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
pass() { echo "PASS install/$1"; }
fail() { echo "FAIL install/$1: $2"; rc=1; }
rc=0

if ! make --no-print-directory -j2 install PREFIX="$tmp" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL install/make-install: make install PREFIX=$tmp failed"
    exit 1
fi
pass make-install

lib=$tmp/lib
missing=""
for f in include/sealloc.h lib/libsealloc.a lib/libsealloc.so lib/libsealloc.so.0 \
         lib/pkgconfig/sealloc.pc; do
    [ -e "$tmp/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && pass files || fail files "missing:$missing"

soname=$(readelf -d "$lib/libsealloc.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libsealloc.so.0 ] && pass soname || fail soname "SONAME is '$soname'"

exported=$(nm -D --defined-only "$lib/libsealloc.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
extra=$(echo "$exported" | grep -v '^seal_' || true)
if [ -n "$exported" ] && [ -z "$extra" ]; then pass exports-public-api-only
else fail exports-public-api-only "non-API symbols: $(echo $extra)"; fi

export PKG_CONFIG_PATH=$lib/pkgconfig
if [ "$(pkg-config --variable=prefix sealloc)" = "$tmp" ] && pkg-config --exists sealloc; then
    pass pkg-config
else
    fail pkg-config "pkg-config does not find sealloc under $tmp (version: $(pkg-config --modversion sealloc 2>&1))"
fi

# Built from a copy outside the tree, so nothing of the source tree leaks in.
cp "$top/tests/install/consumer.c" "$tmp/consumer.c"
cd "$tmp"
cflags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror"
if $CC $cflags consumer.c $(pkg-config --cflags --libs sealloc) -o consumer-shared 2>build.log; then
    needed=$(readelf -d consumer-shared | grep -c 'NEEDED.*libsealloc.so.0')
    out=$(LD_LIBRARY_PATH=$lib ./consumer-shared 2>&1)
    resolved=$(LD_LIBRARY_PATH=$lib ldd ./consumer-shared | grep libsealloc)
    if [ "$needed" = 1 ] && [[ $out == "consumer ok"* ]] && [[ $resolved == *"$lib/"* ]]; then
        pass shared
    else
        fail shared "needed=$needed, ldd: $resolved, output: $out"
    fi
else
    fail shared "build: $(cat build.log)"
fi

if $CC $cflags consumer.c $(pkg-config --cflags sealloc) $(pkg-config --libs-only-L sealloc) \
        -Wl,-Bstatic $(pkg-config --libs-only-l sealloc) -Wl,-Bdynamic \
        $(pkg-config --static --libs-only-other sealloc) -o consumer-static 2>build.log; then
    out=$(./consumer-static 2>&1)
    if ! readelf -d consumer-static | grep -q 'NEEDED.*libsealloc' && [[ $out == "consumer ok"* ]]; then
        pass static
    else
        fail static "output: $out"
    fi
else
    fail static "build: $(cat build.log)"
fi
exit $rc
