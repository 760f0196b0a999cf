#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmarks build and run end to end: bench/run.sh --quick (tiny
# sizes, one process each) must print a well-formed Markdown table with
# every row measured. Nothing here looks at a time: benchmarks are never
# timed tests.
set -u
cd "$(dirname "$0")/../.."
B=build/${VARIANT:-plain}
if ! make --no-print-directory -s bench-programs >/dev/null; then
    echo "FAIL bench-smoke: bench programs do not build"
    exit 0
fi
out=$(bench/run.sh "$B/bench" --quick 2>/dev/null)
rc=$?
printf '%s\n' "$out" | sed 's/^/  /'
rows=$(printf '%s\n' "$out" | grep -c '^| [a-z]')
bad=$(printf '%s\n' "$out" | grep '^|' | awk -F'|' 'NF != 9' | wc -l)
header=$(printf '%s\n' "$out" | sed -n 2p)
if [ $rc -ne 0 ]; then
    echo "FAIL bench-smoke: bench/run.sh --quick exited with $rc"
elif [ "$header" != "|---|---|---|---|---|---|---|" ] || [ "$bad" -ne 0 ] || [ "$rows" -lt 20 ]; then
    echo "FAIL bench-smoke: malformed table ($rows rows, $bad with the wrong number of cells)"
elif printf '%s\n' "$out" | grep -q 'not measured'; then
    echo "FAIL bench-smoke: some rows were not measured"
else
    echo "PASS bench-smoke"
fi
