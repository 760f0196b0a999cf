#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 90-kernel.sh - the kernel suite of `make test`: runs kernel/run-tests.sh
# (patch series applied to linux-source-6.12, KUnit slab_seal and slub_test
# suites under QEMU, LKDTM WRITE_SEALED oops check, benchmark boot,
# SELinux's sealed avtab boots; with KERNEL_DEBUG=1 also lockdep + KASAN) and
# turns its result file into one PASS/FAIL/SKIP line per KUnit case, boot
# check and build step. The script's own output is passed through as log,
# indented so that it never reads as a result line.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
results="$top/kernel/build/results/results.txt"

rm -f "$results"
"$top/kernel/run-tests.sh" 2>&1 | sed -u 's/^/    | /'
rc=${PIPESTATUS[0]}

if [ ! -s "$results" ]; then
    echo "FAIL kernel: run-tests.sh produced no results (status $rc)"
    exit 1
fi
grep -E '^(PASS|FAIL|SKIP) ' "$results"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$results"; then
    echo "FAIL kernel: run-tests.sh exited with status $rc"
fi
exit 0
