# SPDX-License-Identifier: MIT
# kernel/selinux-test.sh - SELinux's sealed access vector table under QEMU.
# Sourced by run-tests.sh after the crash-test kernel, whose variables and
# functions it uses (src, build, here, res, jobs, crash, log, result, timed).
#
# The sealed boot uses the crash-test kernel itself (crash.config has NET,
# INET, AUDIT, SELinux, the sealed avtab and its test interface), so a fresh
# run builds no second tinyconfig kernel. The one kernel built here,
# kernel/build/selinux-plain, is that kernel with the sealed avtab compiled
# out (SELinux then builds exactly as without SLAB_SEALING): it starts as a
# copy of the crash-test build tree and recompiles only security/selinux,
# where turning SLAB_SEALING off would rebuild everything that includes
# slab.h. Both SELinux boots skip the benchmark's initcall
# (initcall_blacklist), which would only add boot time and direct-map
# splits. A policy is generated with the
# kernel's scripts/selinux/mdp plus other_t, the boolean test_bool and one
# conditional rule, compiled with checkpolicy, and booted with selinux-init
# in a busybox initramfs. The checks are on the "SELTEST:" lines and the
# console: decisions right before and after 20 reloads and a boolean flip,
# no unsealed or writable avtab node, bounded slabs and direct-map splits,
# and a write into an avtab node that oopses only when sealing is built in.
# The load-time ratio goes to results/selinux-load-time.txt.

sel_plain_build() { # sel_plain_build dir: crash-test kernel, sealed avtab compiled out
    local plain="$1" frag="$build/selinux-plain.config" off
    off="# CONFIG_SECURITY_SELINUX_SEALED_AVTAB is not set"
    sed "s/^CONFIG_SECURITY_SELINUX_SEALED_AVTAB=y\$/$off/" "$here/config/crash.config" > "$frag.new" &&
        grep -qxF "$off" "$frag.new" || return 1
    # rewritten only when it changes: tiny_config reconfigures when it is newer
    if cmp -s "$frag.new" "$frag"; then
        rm -f "$frag.new"
    else
        mv "$frag.new" "$frag" || return 1
    fi
    if [ ! -d "$plain" ]; then
        cp -a "$crash" "$plain" && rm -f "$plain/.config.frag" || return 1
    fi
    tiny_config "$plain" "$frag" && make -C "$src" O="$plain" -j"$jobs" bzImage
}

sel_policy() { # sel_policy dir: policy.bin from the kernel's mdp
    # Debian 12's checkpolicy does not know 6.12's newest policy
    # capabilities; none matters here, so they are left out. 2000 types with
    # one rule each make the table span several slabs and bucket pages.
    local pol="$build/selinux-policy"
    rm -rf "$pol" && mkdir -p "$pol" &&
        (cd "$pol" && "$1/scripts/selinux/mdp/mdp" policy.conf file_contexts) || return 1
    awk '/^policycap / { next }
         /^user user_u/ {
            for (i = 1; i <= 2000; i++)
                printf "type bulk%d_t;\nallow base_t bulk%d_t:file read;\n", i, i
            print "type other_t;"
            print "role base_r types { other_t };"
            print "bool test_bool false;"
            print "allow base_t other_t:file getattr;"
            print "if (test_bool) { allow base_t other_t:file read; }"
         } { print }' "$pol/policy.conf" > "$pol/test.conf" &&
        checkpolicy -c 33 -o "$pol/policy.bin" "$pol/test.conf"
}

sel_initramfs() { # builds $build/selinux-initramfs.cpio
    local d="$build/selinux-initramfs"
    rm -rf "$d" && mkdir -p "$d"/{bin,dev,proc,sys} &&
        cp /bin/busybox "$d/bin/busybox" && cp "$here/selinux-init" "$d/init" &&
        cp "$build/selinux-policy/policy.bin" "$d/policy.bin" &&
        chmod 755 "$d/init" "$d/bin/busybox" &&
        (cd "$d" && find . | cpio -o -H newc --quiet) > "$build/selinux-initramfs.cpio"
}

sel_boot() { # sel_boot dir log
    timeout 600 qemu-system-x86_64 -machine accel=tcg -cpu qemu64 -smp 2 -m 512 \
        -nographic -no-reboot -kernel "$1/arch/x86/boot/bzImage" \
        -initrd "$build/selinux-initramfs.cpio" \
        -append "console=ttyS0 panic=-1 lsm=selinux initcall_blacklist=slab_seal_bench_init" \
        < /dev/null 2>&1 | tr -d '\r' > "$2"
}

sel_value() { # sel_value log label: the text after "SELTEST: label: "
    grep -a "^SELTEST: $2: " "$1" | head -n 1 | sed "s/^SELTEST: $2: //"
}

sel_decisions() { # sel_decisions log kernel: result lines for the decisions
    local l="$1" k="$2" label want
    for label in "first load" "after 20 reloads" "test_bool on"; do
        want="allowed denied denied"
        [ "$label" = "test_bool on" ] && want="allowed denied allowed"
        if [ "$(sel_value "$l" "decisions $label")" = "$want" ]; then
            result PASS "selinux $k: decisions $label ($want)"
        else
            result FAIL "selinux $k: decisions $label" "want $want, see $l"
        fi
    done
}

sel_sealed_checks() { # sel_sealed_checks log
    local l="$1" label w first max n dm0 dm20 ms
    for label in "first load" "after 20 reloads" "test_bool on"; do
        w=$(sel_value "$l" "walk $label")
        if [[ "$w" =~ ^nodes\ [1-9][0-9]*\ unsealed\ 0\ writable\ 0$ ]]; then
            result PASS "selinux: avtab walk $label: every node sealed, nodes and buckets read-only" "$w"
        else
            result FAIL "selinux: avtab walk $label: every node sealed, nodes and buckets read-only" "${w:-no walk}"
        fi
    done
    # After each load /init shrinks the cache, which waits for the deferred
    # release of the slabs the previous policy emptied: what is left is the
    # current policy's nodes. Bound: no more than 2 slabs above the first
    # load's count (the same nodes, packed from a different partial slab),
    # where keeping one old policy would add a whole policy's worth.
    first=$(sel_value "$l" "footprint 0" | awk '{ print $1 }')
    max=$(for n in $(seq 1 20); do sel_value "$l" "footprint $n"; done | awk '$1 > m { m = $1 } END { print m + 0 }')
    if [ -n "$first" ] && [ "$first" -gt 0 ] && [ "$max" -le $((first + 2)) ]; then
        result PASS "selinux: avtab_node slabs bounded over 20 reloads" "first load $first, max $max <= $first+2"
    else
        result FAIL "selinux: avtab_node slabs bounded over 20 reloads" "first load ${first:-?}, max $max"
    fi
    # Direct-map splits are never merged back. A reload seals about as many
    # slabs and bucket pages as the first load, mostly on pages the
    # previous policy gave back, already split; now and then the page
    # allocator hands out a page of another 2 MiB block. Bound: at most 5
    # new splits (10240 kB of DirectMap4k) over the 20 reloads, i.e. the
    # split memory does not grow with every reload.
    dm0=$(sel_value "$l" "footprint 0" | awk '{ print $2 }')
    dm20=$(sel_value "$l" "footprint 20" | awk '{ print $2 }')
    if [ -n "$dm0" ] && [ -n "$dm20" ] && [ $((dm20 - dm0)) -le 10240 ]; then
        result PASS "selinux: DirectMap4k grows by at most 5 2 MiB splits over 20 reloads" "first load ${dm0} kB, after 20 reloads ${dm20} kB"
    else
        result FAIL "selinux: DirectMap4k grows by at most 5 2 MiB splits over 20 reloads" "first load ${dm0:-?} kB, after 20 reloads ${dm20:-?} kB"
    fi
    if grep -a -q "not a sealed avtab node" "$l"; then
        result FAIL "selinux: lookups reach only sealed nodes (SECURITY_SELINUX_DEBUG)" "see $l"
    else
        result PASS "selinux: lookups reach only sealed nodes (SECURITY_SELINUX_DEBUG)"
    fi
    ms=$(sel_value "$l" "load time of 20 loads")
    echo "$ms" > "$res/selinux-load-time.txt"
    log "selinux policy load time: $ms"
    local addr
    addr=$(grep -a -o "writing to avtab node at [0-9a-f]*" "$l" | awk '{ print $NF }')
    if sel_write_faulted "$l" "$addr" avtab_test_write "the write to the avtab node succeeded"; then
        result PASS "selinux: a write into a sealed avtab node oopses" "$addr"
    else
        result FAIL "selinux: a write into a sealed avtab node oopses" "see $l"
    fi
}

sel_write_faulted() { # sel_write_faulted log addr function survived-text
    local l="$1" line
    [ -n "$2" ] || return 1
    for line in "BUG: unable to handle page fault for address: $2" \
                "#PF: error_code(0x0003) - permissions violation" "$3"; do
        grep -a -q -F "$line" "$l" || return 1
    done
    ! grep -a -q -F "$4" "$l"
}

sel_plain_checks() { # sel_plain_checks log
    local l="$1"
    if grep -a -q "the write to the avtab node succeeded" "$l" && ! grep -a -q "Oops: " "$l"; then
        result PASS "selinux plain: the same write succeeds with sealing compiled out"
    else
        result FAIL "selinux plain: the same write succeeds with sealing compiled out" "see $l"
    fi
}

sel_run() {
    local plain="$build/selinux-plain"
    if ! "$top/scripts/ensure-deps" checkpolicy > "$res/selinux-deps.log" 2>&1; then
        cat "$res/selinux-deps.log"
        result FAIL "install checkpolicy"
        return
    fi
    if timed selinux-plain-build sel_plain_build "$plain" > "$res/selinux-plain-build.log" 2>&1; then
        result PASS "build the SELinux kernel with sealing compiled out"
    else
        tail -n 30 "$res/selinux-plain-build.log"
        result FAIL "build the SELinux kernel with sealing compiled out" "see $res/selinux-plain-build.log"
        return
    fi
    if sel_policy "$crash" > "$res/selinux-policy.log" 2>&1 && sel_initramfs >> "$res/selinux-policy.log" 2>&1; then
        result PASS "generate the mdp test policy and its initramfs"
    else
        cat "$res/selinux-policy.log"
        result FAIL "generate the mdp test policy and its initramfs"
        return
    fi
    log "boot: SELinux, sealed avtab"
    timed boot-selinux sel_boot "$crash" "$res/boot-selinux.log"
    sel_decisions "$res/boot-selinux.log" sealed
    sel_sealed_checks "$res/boot-selinux.log"
    log "boot: SELinux, sealing compiled out"
    timed boot-selinux-plain sel_boot "$plain" "$res/boot-selinux-plain.log"
    sel_decisions "$res/boot-selinux-plain.log" plain
    sel_plain_checks "$res/boot-selinux-plain.log"
}

sel_run
