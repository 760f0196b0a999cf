#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The model-based fuzzer's plain driver (tests/fuzz/, mk/fuzz.mk): replays
# the regression inputs strictly and the seed corpus, then runs fixed seeds
# for a fixed number of random inputs each, so every run checks the same
# inputs. A crash found becomes a file in tests/fuzz/regress/. Then the
# randomized corruption campaign (tests/fuzz/corrupt.c) on fixed seeds: it
# fails only if a corruption broke the promise (make fuzz-corrupt runs
# longer).
set -u
cd "$(dirname "$0")/../.."
B=build/${VARIANT:-plain}
mkdir -p build
make --no-print-directory -j2 fuzz-programs >build/fuzz-build.log 2>&1 || {
    cat build/fuzz-build.log
    echo "FAIL fuzz-build: make fuzz-programs failed"
    exit 1
}
fuzz=$B/fuzz/fuzz-plain
rc=0
for input in tests/fuzz/regress/*; do
    [ -f "$input" ] || continue
    "$fuzz" "$input" || { echo "FAIL fuzz-regress $input: see the fuzz: line above"; rc=1; }
done
"$fuzz" tests/fuzz/corpus/* || { echo "FAIL fuzz-corpus: see the fuzz: line above"; rc=1; }
for seed in 1 2 3 4; do
    "$fuzz" -s "$seed" -n 25 || { echo "FAIL fuzz-seed-$seed: see the fuzz: line above"; rc=1; }
done
# In the protection-key guest (91-pkey-guest, SEALLOC_TEST_CHOICE_ONLY=1)
# the campaign, which is about writable bytes, not the mechanism, is left
# to the host: emulation is slow.
if [ -n "${SEALLOC_TEST_CHOICE_ONLY:-}" ]; then
    echo "SKIP corrupt: the corruption campaign runs on the host (emulation is slow)"
else
    for seed in 1 2; do
        "$B/fuzz/corrupt" -s "$seed" -n 60 || rc=1
    done
fi
exit $rc
