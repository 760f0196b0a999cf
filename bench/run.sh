#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh BINDIR [--quick] - run every benchmark of bench/ and report.
#
# Each configuration runs RUNS times in fresh processes, allocators
# interleaved so that the noise of a shared machine hits them alike; every
# process reports the median of its own rounds ("R key value" lines, see
# util.h) and the table takes the median over processes. Only ratios
# measured in the same run are claims; absolute times are printed for
# context. Prints the Markdown table on stdout; a full run also writes
# bench/results.md (with date, CPU model, kernel) and bench/results.png
# (gnuplot). --quick: tiny sizes, one process each, results kept in BINDIR
# only (the smoke test; no timing means anything there).
set -euo pipefail
bin=${1:?usage: run.sh BINDIR [--quick]}
quick=0
[ "${2:-}" = --quick ] && quick=1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw=$work/raw rows=$work/rows info=$work/info
: >"$raw"; : >"$rows"; : >"$info"

allocs="sealloc glibc mimalloc jemalloc tcmalloc"
callocs="glibc-calloc mimalloc-calloc jemalloc-calloc tcmalloc-calloc" # churn only
base=$(cat "$bin/base/revision") # the library before read-only span records (mk/bench.mk)
if [ $quick = 1 ]; then
    RUNS=1 SIZES="64 4096" LIVES="1Ki 4Ki" OPS=4Ki OPS_BIG=4Ki ROUNDS=2 BUILD_N="1Ki 4Ki" SODIUM_N=64
    MEM_N=16Ki SODIUM_MEM_N=64 CAP=64Ki SEAL_ROUNDS=2 PAIR_ROUNDS=2 WR_OPS=64 READ_N="1Ki 4Ki" FREE_N=1Ki
else
    RUNS=5 SIZES="16 64 256 4096" LIVES="1Ki 1Mi" OPS=1Mi OPS_BIG=256Ki ROUNDS=3 BUILD_N="1Ki 16Ki 256Ki 1Mi"
    SODIUM_N=1Ki MEM_N=1Mi SODIUM_MEM_N=8Ki CAP=4Mi SEAL_ROUNDS=9 PAIR_ROUNDS=9 WR_OPS=8Ki READ_N="16Ki 1Mi"
    FREE_N=16Ki
fi
# Live sets are capped at 64 MiB per thread (256 B: 256Ki, 4096 B: 16Ki live
# instead of 1Mi: page faults are slow here), keeping `make bench` within minutes.
# Rounds last several milliseconds: in rounds of 2 ms, two threads sometimes
# shared one CPU for the whole round (the scheduler had not spread them yet).
live_for() { # SIZE LIVE
    local shift=10 cap=$(( (64 << 20) / $1 ))
    [ "${2: -2}" = Mi ] && shift=20
    local n=$(( ${2%?i} << shift ))
    [ $n -le $cap ] && echo "$2" || echo "$((cap >> 10))Ki"
}
# Seals of up to 99Ki objects are cheap to rebuild: more paired rounds.
seal_rounds() { case $1 in *Mi | *[0-9][0-9][0-9]Ki) echo $SEAL_ROUNDS ;; *) echo $PAIR_ROUNDS ;; esac; }
run() { "$bin/$1" "${@:2}" | tee -a "$raw" | grep '^I ' >>"$info" || true; }
say() { echo "bench: $*" >&2; }

say "churn"
for s in $SIZES; do for l in $LIVES; do for t in 1 2; do
    live=$(live_for "$s" "$l") ops=$OPS
    [ "$l" = "${LIVES##* }" ] && ops=$OPS_BIG # big live sets: the fill dominates
    echo "churn $s $live ${t}T" >>"$rows"
    for r in $(seq $RUNS); do for a in $allocs $callocs sealloc-base; do
        run bench-alloc-$a churn "$s" "$live" $t $ops $ROUNDS
    done; done
done; done; done

say "build-then-seal, seal, memory, most live objects"
for kind in build seal sealp; do for n in $BUILD_N; do echo "$kind $n" >>"$rows"; done; done
for r in $(seq $RUNS); do
    for n in $BUILD_N; do
        run bench-alloc-sealloc build "$n" 64 $SEAL_ROUNDS
        run bench-alloc-sealloc-base build "$n" 64 $SEAL_ROUNDS
        run bench-alloc-raw build "$n" 64 $SEAL_ROUNDS
        run bench-seal "$n" "$(seal_rounds "$n")"
        run bench-seal-base "$n" "$(seal_rounds "$n")" "$base"
    done
    run bench-alloc-libsodium build $SODIUM_N 64 1
    for a in $allocs; do run bench-alloc-$a memory $MEM_N 64; done
    run bench-alloc-libsodium memory $SODIUM_MEM_N 64
done
run bench-alloc-sealloc maxlive 64 $CAP
run bench-alloc-libsodium maxlive 64 $CAP
echo "mem rss" >>"$rows" && echo "mem committed" >>"$rows" && echo "mem maps" >>"$rows"
echo "maxlive" >>"$rows"

say "write-rare, reads, free of a sealed object (today's library and $base's)"
# The mechanism the library chooses, then procmem forced (its fallback).
for r in $(seq $RUNS); do
    run bench-wr $WR_OPS $PAIR_ROUNDS
    SEALLOC_WRITE_RARE=procmem run bench-wr $WR_OPS $PAIR_ROUNDS
    for n in $READ_N; do run bench-reads "$n" $PAIR_ROUNDS; done
    run bench-free sealloc $FREE_N $PAIR_ROUNDS
    run bench-free-base "$base" $FREE_N $PAIR_ROUNDS
done >/dev/null
mech=$(awk '$2 == "wr.mechanism" { print $3; exit }' "$info")
mechs=$(awk '$2 == "wr.mechanism" { print $3 }' "$info" | sort -u)
for m in $mechs; do echo "wr $m write" >>"$rows" && echo "wr $m ptr" >>"$rows"; done
for n in $READ_N; do printf 'read chase %s\nread scan %s\nrequire %s\n' "$n" "$n" "$n" >>"$rows"; done
echo "free $FREE_N" >>"$rows"

grep '^R ' "$raw" | sort -k2,2 -k3,3g | awk '
    function flush() { if (n) print key, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
    $2 != key { flush(); key = $2; n = 0 }
    { v[++n] = $3 }
    END { flush() }' >"$work/medians"
table=$(awk -v base="$base" -v sodium_n="$SODIUM_N" -v sodium_mem_n="$SODIUM_MEM_N" \
    -v mem_n="$MEM_N" -v plot="$work/plot" -f "$here/table.awk" "$work/medians" "$rows")
printf '%s\n' "$table"
if [ $quick = 1 ]; then
    cp "$work/medians" "$bin/medians-quick.txt"
    exit 0
fi
{
    echo "# sealloc benchmarks"
    echo
    echo "Generated by \`make bench\` (bench/run.sh); medians of $RUNS processes, each the median"
    echo "of its own rounds. Ratios are sealloc ÷ reference, measured in the same run;"
    echo "absolute times are context only (a shared, busy machine)."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
    echo "- kernel: $(uname -sr); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- write-rare mechanism chosen: ${mech:-none}; measured: "$mechs
    echo
    printf '%s\n' "$table"
    echo
    cat "$here/notes.md"
} >"$here/results.md"
if command -v gnuplot >/dev/null; then
    gnuplot -e "churn='$work/plot.churn'; seal='$work/plot.seal'; out='$here/results.png'" "$here/chart.gp"
fi
say "wrote bench/results.md and bench/results.png"
