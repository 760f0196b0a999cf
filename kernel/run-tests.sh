#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kernel/run-tests.sh - build and test the slab sealing patch series.
#
# Does everything, from scratch or incrementally:
#   1. installs the Debian packages it needs (scripts/ensure-deps),
#   2. unpacks Debian's linux-source-6.12 into kernel/build/linux (a git
#      tree tagged "pristine"), and applies kernel/patches/0*.patch with
#      git am; when the series changes, the tree is reset to pristine and
#      the series applied again (only changed files are rebuilt),
#   3. builds a KUnit kernel and runs the slab_seal and slub_test suites
#      with tools/testing/kunit/kunit.py under QEMU (TCG, 2 vCPUs),
#   4. builds a small crash-test kernel (tinyconfig + config/crash.config,
#      which includes SELinux) and a busybox-static initramfs, boots it once
#      for the boot-time benchmark and once to trigger LKDTM WRITE_SEALED,
#      which must oops,
#   4b. runs selinux-test.sh: the crash-test kernel and a copy with the
#      sealed avtab compiled out boot SELinux with a generated policy,
#   5. with KERNEL_DEBUG=1 (or --debug), also runs the KUnit suites on a
#      lockdep + KASAN kernel (config/debug.config) and checks the log is
#      clean,
#   5b. with KERNEL_BISECT=1, builds the tree after each patch (bisect.sh),
#   5c. with KERNEL_MATRIX=1, runs the KUnit suites on more configurations
#      (matrix.sh: KFENCE, MEMCG, NUMA, PREEMPT, hardened freelists, ...),
#   6. prints one line per result, "PASS <name>", "FAIL <name>" or
#      "SKIP <name>", also kept in kernel/build/results/results.txt, and
#      exits non-zero if anything failed.
# With --bench, only the crash-test kernel is built and booted for the
# benchmark (kernel/build/results/bench.txt). Logs are in
# kernel/build/results/. Builds use at most JOBS (default 2)
# jobs; QEMU runs with plain emulation (TCG) and always under `timeout`.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
log() { echo "run-tests: $*"; }
. "$here/tree.sh" # $build, $src, $res, $jobs and the tree's functions
debug=${KERNEL_DEBUG:-0}
bench_only=0
case "${1:-}" in
--debug) debug=1 ;;
--bench) bench_only=1 debug=0 ;;
"") ;;
*) echo "usage: $0 [--debug|--bench]" >&2; exit 2 ;;
esac

DEBS=(linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev
      python3 cpio kmod rsync git qemu-system-x86 busybox-static)

mkdir -p "$res"
results="$res/results.txt"
: > "$results"
failed=0

result() { # result PASS|FAIL|SKIP name [detail]
    local line="$1 kernel: $2${3:+ ($3)}"
    echo "$line" >> "$results"
    [ "$1" = FAIL ] && failed=1
    return 0
}
finish() {
    echo "----- kernel test results -----"
    cat "$results"
    echo "$(grep -c '^PASS ' "$results") passed, $(grep -c '^FAIL ' "$results") failed, $(grep -c '^SKIP ' "$results") skipped"
    exit "$failed"
}
timed() { # timed name cmd... : run, log the duration to $res/times.txt
    local name="$1" start rc
    shift
    start=$(date +%s)
    "$@"
    rc=$?
    echo "$name $(( $(date +%s) - start ))s rc=$rc" >> "$res/times.txt"
    log "$name took $(( $(date +%s) - start ))s"
    return $rc
}
: > "$res/times.txt"

# 1. Packages
if ! "$top/scripts/ensure-deps" "${DEBS[@]}" > "$res/deps.log" 2>&1; then
    cat "$res/deps.log"
    result FAIL "install Debian packages"
    finish
fi
result PASS "install Debian packages"

# 2. Source tree and series (kernel/tree.sh)
if [ ! -d "$src/.git" ] || ! git_ rev-parse -q --verify pristine >/dev/null; then
    log "unpacking linux-source-6.12"
    if ! timed unpack unpack > "$res/unpack.log" 2>&1; then
        cat "$res/unpack.log"
        result FAIL "unpack linux-source-6.12"
        finish
    fi
fi
result PASS "unpack linux-source-6.12"

if ! apply_series > "$res/apply.log" 2>&1; then
    cat "$res/apply.log"
    result FAIL "apply patch series"
    finish
fi
result PASS "apply patch series ($(git_ rev-list --count pristine..HEAD) patches)"

# 3. KUnit
# No PS/2 keyboard or mouse: their probe messages ("input: AT Raw Set 2
# keyboard ...") can land inside the KTAP output, and kunit.py then reports
# a crashed suite although every test passed.
kunit_run() { # kunit_run name build_dir kunitconfig...
    local name="$1" dir="$2" args=() rc
    shift 2
    for c in "$@"; do args+=(--kunitconfig="$c"); done
    log "KUnit ($name): build and run in $dir"
    (cd "$src" && timed "kunit-$name" python3 tools/testing/kunit/kunit.py run \
        --arch=x86_64 --build_dir="$dir" --jobs="$jobs" "${args[@]}" \
        --qemu_args="-smp 2 -machine accel=tcg" \
        --kernel_args="init_on_alloc=1" --kernel_args="init_on_free=1" \
        --kernel_args="i8042.nokbd=1" --kernel_args="i8042.noaux=1" \
        --timeout=600 --json="$res/kunit-$name.json") > "$res/kunit-$name.log" 2>&1
    rc=$?
    tail -n 25 "$res/kunit-$name.log"
    return $rc
}

kunit_results() { # kunit_results name: one result line per test case
    local name="$1" json
    json="$res/kunit-$name.json"
    if [ ! -s "$json" ]; then
        result FAIL "kunit $name: no results"
        return
    fi
    python3 - "$json" "$name" >> "$results" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
tag = sys.argv[2]
status = {"PASS": "PASS", "SKIP": "SKIP"}
seen = 0
def walk(group, path):
    global seen
    for case in group.get("test_cases", []):
        seen += 1
        st = status.get(case.get("status"), "FAIL")
        print("%s kernel: kunit %s %s.%s" % (st, tag, path, case["name"]))
    for sub in group.get("sub_groups", []):
        walk(sub, sub["name"])
walk(data, data.get("name", "kunit"))
if not seen:
    print("FAIL kernel: kunit %s: no test case ran" % tag)
EOF
    grep -q "^FAIL kernel: kunit $name" "$results" && failed=1
    return 0
}

expect_suites() { # the suites must have run, not been configured away
    local name="$1" suite
    for suite in slab_seal slub_test; do
        grep -q "^[A-Z]* kernel: kunit $name $suite\." "$results" ||
            result FAIL "kunit $name: suite $suite did not run"
    done
}

if [ "$bench_only" = 0 ]; then
    if kunit_run default "$build/kunit" "$here/config/kunit.config"; then
        result PASS "build KUnit kernel and run suites"
    else
        result FAIL "build KUnit kernel and run suites" "see $res/kunit-default.log"
    fi
    kunit_results default
    expect_suites default
fi

# 4. Crash-test kernel, initramfs, boots
crash="$build/crash"
crash_build() {
    tiny_config "$crash" "$here/config/crash.config" &&
        make -C "$src" O="$crash" -j"$jobs" bzImage
}
log "crash-test kernel: build in $crash"
if timed crash-build crash_build > "$res/crash-build.log" 2>&1; then
    result PASS "build crash-test kernel"
    crash_ok=1
else
    tail -n 30 "$res/crash-build.log"
    result FAIL "build crash-test kernel" "see $res/crash-build.log"
    crash_ok=0
fi

initramfs="$build/initramfs.cpio"
make_initramfs() {
    local d="$build/initramfs"
    rm -rf "$d" && mkdir -p "$d"/{bin,dev,proc,sys} || return 1
    cp /bin/busybox "$d/bin/busybox" && cp "$here/initramfs-init" "$d/init" &&
        chmod 755 "$d/init" "$d/bin/busybox" || return 1
    file_is_static=$(od -An -c -N4 "$d/bin/busybox" | tr -d ' ')
    [ "$file_is_static" = "177ELF" ] || return 1
    (cd "$d" && find . | cpio -o -H newc --quiet) > "$initramfs"
}
if make_initramfs > "$res/initramfs.log" 2>&1; then
    result PASS "pack busybox initramfs"
else
    cat "$res/initramfs.log"
    result FAIL "pack busybox initramfs"
    crash_ok=0
fi

boot() { # boot mode: boot the crash-test kernel, console to $res/boot-mode.log
    # slab_debug= names the benchmark's sealable cache: it must say it ignores it
    local mode="$1"
    timeout 300 qemu-system-x86_64 -machine accel=tcg -cpu qemu64 -smp 2 -m 512 \
        -nographic -no-reboot -kernel "$crash/arch/x86/boot/bzImage" \
        -initrd "$initramfs" \
        -append "console=ttyS0 panic=-1 sealtest=$mode slab_debug=FZPU,seal_bench_sealable" \
        < /dev/null > "$res/boot-$mode.log" 2>&1
}

if [ "$crash_ok" = 1 ]; then
    log "boot 1: benchmark"
    timed boot-bench boot bench
    blog="$res/boot-bench.log"
    if grep -q "slab_seal_bench: done" "$blog" && grep -q "SEALTEST: bench boot done" "$blog"; then
        result PASS "boot crash-test kernel, run benchmark"
    else
        tail -n 40 "$blog"
        result FAIL "boot crash-test kernel, run benchmark" "see $blog"
    fi
    if grep -a -q "SLUB seal_bench_sealable: sealable cache, slab_debug options ignored" "$blog"; then
        result PASS "slab_debug= on a sealable cache is reported as ignored"
    else
        result FAIL "slab_debug= on a sealable cache is reported as ignored" "see $blog"
    fi
    grep -a "slab_seal_bench:\|DirectMap" "$blog" | tr -d '\r' > "$res/bench.txt"
    cat "$res/bench.txt"
    [ "$bench_only" = 1 ] && finish

    log "boot 2: LKDTM WRITE_SEALED"
    timed boot-crash boot crash
    clog="$res/boot-crash.log"
    addr=$(grep -a -o "attempting bad write to sealed object at [0-9a-f]*" "$clog" | awk '{print $NF}')
    if [ -n "$addr" ] &&
       grep -a -q "BUG: unable to handle page fault for address: $addr" "$clog" &&
       grep -a -q "#PF: error_code(0x0003) - permissions violation" "$clog" &&
       grep -a -q "Oops: " "$clog" &&
       grep -a -q "lkdtm_WRITE_SEALED" "$clog" &&
       ! grep -a -q "FAIL: survived bad write" "$clog"; then
        result PASS "LKDTM WRITE_SEALED oopses on the write to the sealed object" "$addr"
    else
        tail -n 60 "$clog"
        result FAIL "LKDTM WRITE_SEALED oopses on the write to the sealed object" "see $clog"
    fi
else
    result FAIL "boot crash-test kernel, run benchmark" "no kernel or initramfs"
    result FAIL "LKDTM WRITE_SEALED oopses on the write to the sealed object" "no kernel or initramfs"
fi

# 4b. SELinux's sealed access vector table (kernel/selinux-test.sh): the
# crash-test kernel boots sealed, a copy of it with the sealed avtab
# compiled out boots plain.
if [ "$crash_ok" = 1 ]; then
    . "$here/selinux-test.sh"
else
    result FAIL "SELinux avtab boots" "no crash-test kernel or initramfs"
fi

# 5. lockdep + KASAN
if [ "$debug" = 1 ]; then
    if kunit_run debug "$build/kunit-debug" "$here/config/kunit.config" "$here/config/debug.config"; then
        result PASS "build lockdep+KASAN KUnit kernel and run suites"
    else
        result FAIL "build lockdep+KASAN KUnit kernel and run suites" "see $res/kunit-debug.log"
    fi
    kunit_results debug
    expect_suites debug
    dlog="$build/kunit-debug/test.log"
    if [ -s "$dlog" ] && grep -q "CONFIG_PROVE_LOCKING=y" "$build/kunit-debug/.config" &&
       grep -q "CONFIG_KASAN=y" "$build/kunit-debug/.config"; then
        if grep -a -E "BUG:|WARNING:|KASAN:|possible recursive locking|possible circular locking|inconsistent lock state|INFO: lockdep|lock held when returning" "$dlog" \
           > "$res/debug-splats.txt"; then
            head -n 40 "$res/debug-splats.txt"
            result FAIL "lockdep+KASAN boot log is clean" "see $dlog"
        else
            result PASS "lockdep+KASAN boot log is clean"
        fi
    else
        result FAIL "lockdep+KASAN boot log is clean" "no log or config"
    fi
else
    result SKIP "lockdep+KASAN configuration" "run with KERNEL_DEBUG=1"
fi

# 6. Each patch builds on its own: kernel/bisect.sh, opt-in (KERNEL_BISECT=1)
if [ "${KERNEL_BISECT:-0}" = 1 ]; then
    timed bisect "$here/bisect.sh" | tee "$res/bisect.txt" | grep -E '^(PASS|FAIL) ' >> "$results"
    grep -q '^PASS ' "$res/bisect.txt" && ! grep -q '^FAIL ' "$res/bisect.txt" ||
        result FAIL "bisect: build after each patch" "see $res/bisect.txt"
fi

# 5c. The KUnit suites on more configurations: kernel/matrix.sh, opt-in (KERNEL_MATRIX=1)
if [ "${KERNEL_MATRIX:-0}" = 1 ]; then
    timed matrix "$here/matrix.sh" | tee "$res/matrix.txt" | grep -E '^(PASS|FAIL) ' >> "$results"
    grep -q '^PASS ' "$res/matrix.txt" && ! grep -q '^FAIL ' "$res/matrix.txt" ||
        result FAIL "matrix: KUnit suites on more configurations" "see $res/matrix.txt"
fi

finish
