#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kernel/matrix.sh - the series' KUnit suites on the configurations real
# kernels use.
#
# `make kernel-test KERNEL_MATRIX=1` runs it after kernel/run-tests.sh's own
# steps (not in CI: one KUnit kernel build, about 6.5 minutes, per
# configuration); it also runs alone, `kernel/matrix.sh [name...]` running
# only the named configurations. It keeps the series applied in
# kernel/build/linux (kernel/tree.sh), then for each configuration builds a
# KUnit kernel from config/kunit.config plus the configuration's fragment in
# a build directory of its own (kernel/build/matrix-<name>, incremental on
# the next run) and runs the slab_seal and slub_test suites with
# tools/testing/kunit/kunit.py under QEMU (TCG, 2 vCPUs), with the kernel
# arguments of kernel/run-tests.sh. A fragment line "# kunit.py: --ARG"
# adds that one argument to kunit.py (kernel or QEMU arguments); a line
# "# test.log: REGEX" names a line the console log must hold, which shows
# the configuration took effect at run time (a second NUMA node, KFENCE
# initialised); kunit.py itself fails when an option of a fragment did not
# survive olddefconfig.
#
# A configuration passes when kunit.py succeeds, both suites ran, no test
# case failed, the console log holds each "test.log:" line and no BUG,
# WARNING, KASAN or lockdep report. Prints "PASS kernel: matrix <name>: <per-suite counts>, <times>"
# or "FAIL ..." per configuration, and exits non-zero if one failed. Logs:
# kernel/build/results/matrix-<name>.{log,json} and the build directory's
# test.log.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "matrix: $*"; }
. "$here/tree.sh"
only="$*"

# name and fragment, cheapest first; "debug" is KERNEL_DEBUG=1's lockdep +
# KASAN kernel, built in the same directory as run-tests.sh builds it
configs=(
    "freelist matrix-freelist.config"
    "preempt matrix-preempt.config"
    "kfence matrix-kfence.config"
    "numa matrix-numa.config"
    "memcg matrix-memcg.config"
    "debug debug.config"
)

mkdir -p "$res"
kernel_tree > "$res/matrix-tree.log" 2>&1 ||
    { cat "$res/matrix-tree.log"; echo "FAIL kernel: matrix: apply the series"; exit 1; }

counts() { # counts JSON: per-suite counts; exit 1 if a case failed or a suite is missing
    python3 - "$1" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
def cases(group):
    for case in group.get("test_cases", []):
        yield case.get("status")
    for sub in group.get("sub_groups", []):
        yield from cases(sub)
suites = {g["name"]: list(cases(g)) for g in data.get("sub_groups", [])}
ok = True
out = []
for name in ("slab_seal", "slub_test"):
    st = suites.get(name, [])
    bad = sum(s not in ("PASS", "SKIP") for s in st)
    ok = ok and st != [] and bad == 0
    out.append("%s %d passed, %d failed, %d skipped"
               % (name, st.count("PASS"), bad, st.count("SKIP")))
print("; ".join(out))
sys.exit(0 if ok else 1)
EOF
}

run_config() { # run_config name fragment
    local name="$1" frag="$here/config/$2" dir="$build/matrix-$1" extra=() rc detail elapsed want
    [ "$name" = debug ] && dir="$build/kunit-debug"
    mapfile -t extra < <(sed -n 's/^# kunit\.py: //p' "$frag")
    log "$name: build and run in $dir"
    rm -f "$res/matrix-$name.json"
    (cd "$src" && python3 tools/testing/kunit/kunit.py run \
        --arch=x86_64 --build_dir="$dir" --jobs="$jobs" \
        --kunitconfig="$here/config/kunit.config" --kunitconfig="$frag" \
        --qemu_args="-smp 2 -machine accel=tcg" \
        --kernel_args="init_on_alloc=1" --kernel_args="init_on_free=1" \
        --kernel_args="i8042.nokbd=1" --kernel_args="i8042.noaux=1" \
        "${extra[@]}" --timeout=900 --json="$res/matrix-$name.json") \
        > "$res/matrix-$name.log" 2>&1
    rc=$?
    detail=$(counts "$res/matrix-$name.json" 2>/dev/null) || rc=1
    [ -n "$detail" ] || detail="no results"
    elapsed=$(grep -o 'Elapsed time: .*' "$res/matrix-$name.log" | tail -n 1)
    detail="$detail${elapsed:+; $elapsed}"
    if grep -a -E "BUG:|WARNING:|KASAN:|possible recursive locking|possible circular locking|inconsistent lock state|INFO: lockdep|lock held when returning" \
       "$dir/test.log" > "$res/matrix-$name-splats.txt" 2>/dev/null; then
        head -n 20 "$res/matrix-$name-splats.txt"
        detail="$detail; reports in $dir/test.log"
        rc=1
    fi
    while IFS= read -r want; do
        grep -a -q -E "$want" "$dir/test.log" 2>/dev/null ||
            { detail="$detail; no \"$want\" in $dir/test.log"; rc=1; }
    done < <(sed -n 's/^# test\.log: //p' "$frag")
    if [ "$rc" = 0 ]; then
        echo "PASS kernel: matrix $name: $detail"
    else
        tail -n 25 "$res/matrix-$name.log"
        echo "FAIL kernel: matrix $name: $detail (see $res/matrix-$name.log)"
    fi
    return "$rc"
}

failed=0 ran=0
for c in "${configs[@]}"; do
    set -- $c
    case " $only " in
    "  " | *" $1 "*) run_config "$1" "$2" || failed=1; ran=$((ran + 1)) ;;
    esac
done
[ "$ran" -gt 0 ] || { echo "FAIL kernel: matrix: no configuration named $only"; exit 1; }
exit "$failed"
