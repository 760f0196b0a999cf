#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unit test programs (tests/unit/test_*.c), plain build.
set -u
cd "$(dirname "$0")/../.."
B=build/${VARIANT:-plain}
rc=0
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "--- $(basename "$t")"
    "$t" || rc=1
done
exit $rc
