#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The examples (examples/) and the demo: each runs to exit status 0 and its
# output tells the story it claims (seals hold, attacks fault with the
# fault handler's or the provenance check's line, lookups answer correctly).
set -u
cd "$(dirname "$0")/../.."
# Faults and aborts are what these programs show: under VARIANT=asan|tsan
# the sanitizers leave SIGSEGV and SIGABRT to them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:handle_abort=0:allow_user_segv_handler=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-handle_segv=0:handle_abort=0}
B=build/${VARIANT:-plain}/examples
D=examples/data
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! make --no-print-directory -s VARIANT="${VARIANT:-plain}" examples >/dev/null; then
    echo "FAIL examples: the examples do not build"
    exit 0
fi

# check NAME PATTERN... -- CMD...: run CMD, then PASS if it exited 0 and its
# output matches every (extended regex) PATTERN, in any order.
check() {
    local name=$1 pats=() p
    shift
    while [ "$1" != -- ]; do pats+=("$1"); shift; done
    shift
    if [ ! -x "$1" ]; then echo "FAIL $name: $1 not built"; return; fi
    "$@" >"$out" 2>&1
    local rc=$?
    if [ $rc -ne 0 ]; then echo "FAIL $name: exit status $rc"; sed 's/^/  | /' "$out"; return; fi
    for p in "${pats[@]}"; do
        if ! grep -Eq -- "$p" "$out"; then
            echo "FAIL $name: no line matches /$p/"; sed 's/^/  | /' "$out"; return
        fi
    done
    echo "PASS $name"
}

check demo \
    'rule 3: allow user \*      path /srv/www/' \
    'seal_is_sealed\(rule 0\) = 1, seal_is_sealed\(dispatch\) = 1' \
    'read\(/dev/zero -> rule 0\) = -1 \(Bad address\)' \
    '^pool +policy .* 13 +13 ' \
    'stderr: sealloc: write to sealed memory: pool "policy" allocation 0x[0-9a-f]+ size [0-9]+ offset 0 at' \
    'stderr: sealloc: write to sealed memory: cache "dispatch" object 0 offset 8 at' \
    'child: +killed by signal 11' \
    'mallory /etc/shadow +-> deny +\(rule 0\)' \
    'after:  rule 3 limit 1200/min, still sealed: 1' \
    'demo finished' \
    -- $B/demo $D/policy.rules

check config \
    'config: 9 entries from .*, sealed: yes' '^docroot = /srv/www$' '^listen.port = 8443$' \
    '^auth.required = yes$' \
    -- $B/config $D/server.conf docroot listen.port auth.required
"$B/config" $D/server.conf no.such.key >/dev/null 2>&1
[ $? -eq 3 ] && echo "PASS config-missing-key" || echo "FAIL config-missing-key: want status 3"

check dispatch \
    'admin as mallory -> 403 forbidden' \
    'stderr: sealloc: write to sealed memory: cache "proto_ops" object 1 offset 8 at' \
    'child: killed by signal 11' \
    'permanent: no|mprotect\(PROT_WRITE\) = -1 \(Operation not permitted\)' \
    -- $B/dispatch

check reload \
    'reload 4: .* in pool "policy-v5", sealed, published' \
    'seal_is_sealed\(old\) = 0' \
    'alice /srv/www/index.html -> allow, logged' \
    'readers: [1-9][0-9]* lookups' \
    -- $B/reload $D/policy.rules $D/policy-v2.rules

check provenance \
    'webserver runs as www-data; may reboot: 0' \
    'seal_cache_require\(cache "creds"\): 0x[0-9a-f]+ is not a live object' \
    'seal_cache_require\(cache "creds"\): 0x[0-9a-f]+ is not sealed' \
    'after the attacks: webserver may reboot: 0' \
    -- $B/provenance
exit 0
