#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kernel/bisect.sh - every patch of the series builds on its own.
#
# `make kernel-test KERNEL_BISECT=1` runs it after kernel/run-tests.sh's own
# steps (not in CI: about one kernel build per patch); it also runs alone.
# It keeps the series applied in kernel/build/linux (kernel/tree.sh), checks
# each of its commits out in turn, oldest first, in a second git worktree,
# kernel/build/bisect/linux, and builds it incrementally in
# kernel/build/bisect/build: a tinyconfig kernel with config/bisect.config
# (SMP, SLUB_DEBUG, SLAB_SEALING, LKDTM, the benchmark, modules, KUnit with
# the slab_seal suite as a module, lockdep's held-lock tracking),
# `make bzImage modules`. An option of the fragment must have survived
# olddefconfig as soon as the commit defines it
# (CONFIG_SLAB_SEALING_KUNIT_TEST from the KUnit patch on, ...).
#
# Prints "PASS kernel: bisect NN <subject>" or "FAIL ..." per commit and
# exits non-zero if one failed. Logs: kernel/build/results/bisect-NN.log.
# A commit whose source tree (git tree id) already built with the same
# fragment is not built again (kernel/build/bisect/passed), so that after a
# change to a late patch only the commits from that patch on are rebuilt.
# Invariant: kernel/build/linux itself is never checked out elsewhere, so
# the other builds stay incremental.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "bisect: $*"; }
. "$here/tree.sh"
wt="$build/bisect/linux"
out="$build/bisect/build"
frags=("$here/config/bisect.config")

mkdir -p "$res" "$build/bisect"
kernel_tree > "$res/bisect-tree.log" 2>&1 ||
    { cat "$res/bisect-tree.log"; echo "FAIL kernel: bisect: apply the series"; exit 1; }

# the worktree goes stale when kernel/build/linux is unpacked again
if ! git -C "$wt" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    rm -rf "$wt" "$out"
    git_ worktree prune
    git_ worktree add -q --detach "$wt" pristine || { echo "FAIL kernel: bisect: worktree"; exit 1; }
fi

bisect_config() { # merge the fragments, then check the options this commit defines
    local opt sym missing
    [ -f "$out/.config" ] || make -C "$wt" O="$out" tinyconfig >/dev/null || return 1
    "$wt/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" >/dev/null &&
        make -C "$wt" O="$out" olddefconfig >/dev/null || return 1
    missing=$(grep -h '^CONFIG_' "${frags[@]}" | while IFS= read -r opt; do
        sym=${opt%%=*}
        git -C "$wt" grep -q -E "^(menu)?config ${sym#CONFIG_}\$" -- '*Kconfig*' || continue
        grep -qxF "$opt" "$out/.config" || echo "$opt"
    done)
    [ -z "$missing" ] || { log "config lacks" $missing; return 1; }
}

passed="$build/bisect/passed"
touch "$passed"
frag_sum=$(cat "${frags[@]}" | sha256sum | cut -d' ' -f1)

failed=0 n=0
for c in $(git_ rev-list --reverse pristine..HEAD); do
    n=$((n + 1))
    nn=$(printf %02d "$n")
    subject=$(git_ log -1 --format=%s "$c")
    key="$(git_ rev-parse "$c^{tree}") $frag_sum"
    if grep -qxF "$key" "$passed"; then
        echo "PASS kernel: bisect $nn $subject (this source tree built before)"
        continue
    fi
    git -C "$wt" checkout -q --detach "$c" || { echo "FAIL kernel: bisect $nn $subject (checkout)"; failed=1; continue; }
    start=$(date +%s)
    if { bisect_config && make -C "$wt" O="$out" -j"$jobs" bzImage modules; } > "$res/bisect-$nn.log" 2>&1; then
        echo "PASS kernel: bisect $nn $subject ($(( $(date +%s) - start ))s)"
        echo "$key" >> "$passed"
    else
        grep -E 'error|Error|lacks' "$res/bisect-$nn.log" | head -n 20
        echo "FAIL kernel: bisect $nn $subject (see $res/bisect-$nn.log)"
        failed=1
    fi
done
[ "$n" -gt 0 ] || { echo "FAIL kernel: bisect: no commit on top of pristine"; exit 1; }
exit "$failed"
