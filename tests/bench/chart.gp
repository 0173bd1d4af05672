# Ratio to baseline per figure (median bar, min-max whiskers), from xdpctl_bench's chart.dat:
#   gnuplot -e "datafile='chart.dat'; outfile='chart.png'; machine='...'" chart.gp
# chart.dat columns: index, "name", ratio median, min, max, 1 when measured in the kernel lane's
# qemu TCG guest (the device-bound figures; drawn in another colour).
stats datafile using 1 nooutput
n = STATS_records
# ~30 px a bar: the pipeline alone has two dozen figures
set terminal pngcairo size (n * 26 > 1200 ? n * 26 : 1200),1040 font "DejaVu Sans,11" noenhanced
set output outfile
set title "xdpctl vs bare baseline, same run (1.0 = as fast as the baseline; dashed: 0.98 target; axis cut at 2)\n".machine
set ylabel "ratio (baseline/ours for times, ours/baseline for rates)"
set style fill solid 0.5 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by 90 right nomirror
set bmargin 30
set lmargin 10
set key inside top left opaque box
set xrange [-0.6:n-0.4]
# one outlier round (up to 9x on this machine) would squash every bar: whiskers stop at 2
# (after stats, which would count only the rows inside the range)
set yrange [0:2]
plot datafile using 1:($6 == 1 ? NaN : $3):xtic(2) with boxes lc rgb "#4477aa" title "median", \
     '' using 1:($6 == 1 ? $3 : NaN) with boxes lc rgb "#ee7733" title "median, in the 6.12 guest (qemu TCG)", \
     '' using 1:3:4:5 with yerrorbars lc rgb "black" pt -1 lw 1.5 title "min–max", \
     0.98 with lines dt 2 lc rgb "#cc3311" lw 1.5 title "0.98", \
     1.0 with lines lc rgb "#888888" title "1.0"
