# SPDX-License-Identifier: MIT
# chart.gp - bench/results.png: churn (ns per alloc+free, every allocator)
# and seal (sealloc against one raw mprotect over the same bytes).
# Called by bench/run.sh with churn, seal (data files) and out (the PNG).
set terminal pngcairo size 1400,600 font ",9"
set output out
set multiplot layout 1,2
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set grid ytics
set key top left
set xtics rotate by -45 scale 0
set title "churn: ns per alloc+free (lower is better)"
plot for [i=2:6] churn using i:xtic(1) title columnheader(i)
set title "seal: ns per seal vs one raw mprotect over the same bytes"
set xlabel "objects (64 B)"
plot seal using 2:xtic(1) title "sealloc seal", '' using 3 title "mprotect"
unset multiplot
