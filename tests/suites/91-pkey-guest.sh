#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 91-pkey-guest.sh - the library's tests on a CPU with protection keys.
#
# The machines this project builds on have no protection keys; QEMU's plain
# emulation (TCG) with -cpu max has them. This suite builds a small kernel
# from the tree the kernel suite unpacks (kernel/tree.sh) with a config of
# its own (kernel/config/pkey-guest.config), incrementally in
# kernel/build/pkey-guest; packs an initramfs with busybox-static, bash, the
# dynamic loader and libc, and the programs of suites 10-unit, 25-fuzz and
# 60-examples as built here (plain variant); boots it with
# `qemu-system-x86_64 -cpu max -smp 2`, where tests/guest/init runs them
# with SEALLOC_WRITE_RARE=pkey (pkey is opt-in); and reports every result
# line the guest prints, named guest/<suite>/<test>. Inside the guest a SKIP
# that names protection keys is a failure, and so is one that names
# anonymous mapping names (the config has CONFIG_ANON_VMA_NAME, for
# test_names), and so is a run without the runner's summary and
# tests/guest/init's last line (a crash, a hang). Without QEMU the suite
# fails. Logs are in kernel/build/pkey-guest/.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/kernel"
log() { echo "    | $*"; }
fail() { echo "FAIL pkey-guest: $1"; exit 1; }
. "$here/tree.sh" # $build, $src, $jobs
guest="$build/pkey-guest"
GUEST_SUITES=(tests/suites/10-unit.sh tests/suites/25-fuzz.sh tests/suites/60-examples.sh)
mkdir -p "$guest"
cd "$top"

"$top/scripts/ensure-deps" linux-source-6.12 build-essential bc bison flex libelf-dev \
    cpio git qemu-system-x86 busybox-static > "$guest/deps.log" 2>&1 ||
    { cat "$guest/deps.log"; fail "install Debian packages"; }
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64"

kernel_build() {
    kernel_tree && tiny_config "$guest" "$here/config/pkey-guest.config" &&
        nice -n 10 make -C "$src" O="$guest" -j"$jobs" bzImage
}
kernel_build > "$guest/build.log" 2>&1 || { tail -n 30 "$guest/build.log"; fail "build the guest kernel"; }
nice -n 10 make --no-print-directory -j"$jobs" lib test-programs fuzz-programs examples \
    > "$guest/programs.log" 2>&1 || { tail -n 30 "$guest/programs.log"; fail "build the programs"; }

# The initramfs: /init, busybox, bash and the libraries every ELF file
# needs (ldd), and under /sealloc the scripts, data and programs at the
# paths the suites expect, without debug information.
pack() {
    local root="$guest/initramfs" B=build/plain f elf=()
    rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,usr/bin,sealloc/tests/guest} || return 1
    cp /bin/busybox /bin/bash "$root/bin/" && cp tests/guest/init "$root/init" &&
        ln -s /bin/busybox "$root/usr/bin/env" || return 1
    printf '%s\n' "${GUEST_SUITES[@]}" > "$root/sealloc/tests/guest/suites"
    for f in tests/harness/run-suites "${GUEST_SUITES[@]}" tests/fuzz/regress tests/fuzz/corpus \
             examples/data $B/lib/libsealloc.so* $B/tests/test_* $B/fuzz/fuzz-plain \
             $(find $B/examples -maxdepth 1 -type f -perm -u+x); do
        cp -a --parents "$f" "$root/sealloc/" || return 1
    done
    elf=(/bin/bash $(find "$root/sealloc/$B" -type f -perm -u+x))
    for f in "${elf[@]}"; do
        objcopy --strip-debug "$f" 2>/dev/null
        ldd "$f" | grep -o '/[^ ]*' | xargs -r cp -L --parents -t "$root" || return 1
    done
    (cd "$root" && find . | cpio -o -H newc --quiet) > "$guest/initramfs.cpio"
}
pack > "$guest/pack.log" 2>&1 || { cat "$guest/pack.log"; fail "pack the initramfs"; }

console="$guest/console.log"
timeout 1200 qemu-system-x86_64 -machine accel=tcg -cpu max -smp 2 -m 1024 \
    -nographic -no-reboot -kernel "$guest/arch/x86/boot/bzImage" \
    -initrd "$guest/initramfs.cpio" -append "console=ttyS0 panic=-1 quiet" \
    < /dev/null > "$console" 2>&1
rc=$?
tr -d '\r' < "$console" | awk '
    /^=== suite [^ ]*$/ { suite = $3 "/" }
    /^(PASS|FAIL|SKIP) / {
        line = substr($0, 6)
        if ($1 == "SKIP" && tolower(line) ~ /pkey|protection key/)
            print "FAIL guest/" suite line " (a protection-key test skipped)"
        else if ($1 == "SKIP" && tolower(line) ~ /vma_anon_name|anon_vma_name/)
            print "FAIL guest/" suite line " (an anonymous-names test skipped)"
        else
            print $1 " guest/" suite line
    }
    /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { summary = 1 }
    /^GUEST: done/ { done = 1 }
    END { if (!summary || !done) print "FAIL pkey-guest: the guest ended without its summary" }'
grep -a -q "^GUEST: done" "$console" || { tail -n 40 "$console"; echo "qemu status $rc"; }
exit 0
