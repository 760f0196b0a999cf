#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Man pages (man/): every page renders with groff warnings fatal; the main
# pages have the sections the project promises; every public function and
# SEAL_* macro of include/sealloc.h has a page naming it; the EXAMPLE of
# each main page compiles with -Werror against the library and behaves as
# its text says; `make install` installs pages that man(1) resolves.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
LIB=$top/build/${VARIANT:-plain}/lib/libsealloc.a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/r"
# rendered PAGE: the text of man/PAGE (man3/x.3) as man -l rendered it
# below; an alias (".so man3/y.3") reads as the page it includes.
rendered() {
    local target
    target=$(sed -n 's|^\.so \(man[37]/.*\)|\1|p' "man/$1")
    cat "$tmp/r/$(basename "${target:-$1}")"
}

# Every page through groff with all warnings; the pages with text (not the
# .so aliases, which groff has just rendered through their target) through
# man -l too, keeping the text for the checks below.
for page in man/man3/*.3 man/man7/*.7; do
    rel=${page#man/}
    warn=$(cd man && groff -t -man -Tutf8 -ww -z "$rel" 2>&1)
    if [ -n "$warn" ]; then echo "FAIL render $rel"; echo "$warn" | sed 's/^/  | /'; continue; fi
    if ! grep -q '^\.so ' "$page"; then
        warn=$(cd man && MANWIDTH=80 man --warnings=w -l "$rel" 2>&1 >"$tmp/r/$(basename "$rel")")
        if [ -n "$warn" ]; then echo "FAIL man -l $rel"; echo "$warn" | sed 's/^/  | /'; continue; fi
    fi
    echo "PASS render $rel"
done

# The main pages: every promised section, and the system pages they point to.
main=(seal_cache_create seal_pool_create seal_write seal_cache_require
      seal_fault_handler_install seal_stats_print)
for name in "${main[@]}"; do
    out=$(rendered "man3/$name.3")
    missing=""
    for sec in NAME SYNOPSIS DESCRIPTION 'RETURN VALUE' ERRORS NOTES EXAMPLE 'SEE ALSO'; do
        grep -q "^$sec\$" <<<"$out" || missing+=" [$sec]"
    done
    for ref in 'mprotect(2)' 'mseal(2)' 'pkeys(7)' 'sealloc(7)'; do
        grep -qF "$ref" <<<"$out" || missing+=" $ref"
    done
    [ -z "$missing" ] && echo "PASS sections $name" || echo "FAIL sections $name: missing$missing"
done
out=$(rendered man7/sealloc.7)
missing=""
for sec in DESCRIPTION 'THREAT MODEL' GUARANTEES LIMITS 'SEE ALSO'; do
    grep -q "^$sec\$" <<<"$out" || missing+=" [$sec]"
done
[ -z "$missing" ] && echo "PASS sections sealloc.7" || echo "FAIL sections sealloc.7: missing$missing"

# Every public name: functions declared SEALLOC_API and SEAL_* macros.
names=$( { sed -n 's/^SEALLOC_API[^(]*[ *]\([a-z_0-9]*\)(.*/\1/p' include/sealloc.h
           sed -n 's/^#define \(SEAL_[A-Z_]*\).*/\1/p' include/sealloc.h; } | sort -u)
[ "$(wc -w <<<"$names")" -ge 25 ] || echo "FAIL names: only $(wc -w <<<"$names") public names found in sealloc.h"
for n in $names; do
    if [ ! -f "man/man3/$n.3" ]; then echo "FAIL page $n: no man/man3/$n.3"; continue; fi
    # The NAME or SYNOPSIS section of the page (or of the page it aliases)
    # names n.
    if rendered "man3/$n.3" | sed -n '/^NAME$/,/^DESCRIPTION$/p' | tr ',(' '\n\n' |
        grep -qw -- "$n"; then
        echo "PASS page $n"
    else
        echo "FAIL page $n: its page does not name it"
    fi
done

# The examples: compile each main page's EXAMPLE and run it.
# expect NAME STATUS: STATUS is an exit code, or SIGSEGV/SIGABRT.
example() {
    local name=$1 want=$2 src=$tmp/$1.c
    sed -n '/^\.SH EXAMPLE/,/^\.SH/p' "man/man3/$name.3" |
        sed -n '/^\.EX/,/^\.EE/{/^\.E[XE]/d;p}' | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$src"
    if [ ! -f "$LIB" ]; then echo "FAIL example $name: $LIB not built (make lib)"; return; fi
    if ! cc -std=c11 -Wall -Wextra -Werror -Iinclude "$src" -o "$tmp/$name" "$LIB" -pthread \
        >"$tmp/cc.log" 2>&1; then
        echo "FAIL example $name: does not compile"; sed 's/^/  | /' "$tmp/cc.log"; return
    fi
    { "$tmp/$name" >"$tmp/run.log" 2>&1; } 2>/dev/null
    local rc=$? got
    case $rc in 139|$((128 + 11))) got=SIGSEGV ;; 134) got=SIGABRT ;; *) got=$rc ;; esac
    if [ "$got" = "$want" ]; then echo "PASS example $name ($got)"
    else echo "FAIL example $name: want $want, got $got"; sed 's/^/  | /' "$tmp/run.log"; fi
}
example seal_cache_create 0
example seal_pool_create 0
example seal_write 0
example seal_stats_print 0
example seal_cache_stats 0
example seal_cache_unseal 0
example seal_scope_push 0
example seal_cache_require SIGABRT
example seal_fault_handler_install SIGSEGV
grep -q 'write to sealed memory: pool "policy"' "$tmp/run.log" &&
    echo "PASS example seal_fault_handler_install names the pool" ||
    echo "FAIL example seal_fault_handler_install: no fault line"

# Installed pages: the aliases resolve through man's own search path.
if make -s --no-print-directory install DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/inst.log" 2>&1 &&
    MANWIDTH=80 man -M "$tmp/root/usr/share/man" 3 seal_pool_free 2>&1 | grep -q seal_pool_create &&
    MANWIDTH=80 man -M "$tmp/root/usr/share/man" 7 sealloc 2>&1 | grep -q 'THREAT MODEL'; then
    echo "PASS make install: pages"
else
    echo "FAIL make install: pages"; sed 's/^/  | /' "$tmp/inst.log"
fi
exit 0
