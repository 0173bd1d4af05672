#!/usr/bin/env bash
# `make bench`: runs the benchmark runner, draws the chart and rewrites the table of docs/bench.md.
#
#   tests/bench/run.sh [--build DIR] [--smoke] [--timeout SECONDS]
#
# Outputs: DIR/bench/results.json, DIR/bench/chart.png (gnuplot), docs/bench.md between the
# <!-- bench:begin --> and <!-- bench:end --> markers (not with --smoke).
#
# The device-bound figure (xdpctl_bench --only devbound) is not measured on this host: removing
# a device a program is bound to oopsed its 6.18.44 kernel (tests/harness/kernel.hpp). After the
# host sections, the kernel lane (kmod/run-lane.sh) boots Debian's 6.12 under qemu (TCG) with a
# LANE_EXTRA script that runs the section and hands its results.json back over the console
# (lane-file-out); xdpctl_bench --merge adds its figures, labelled as the guest's, to the host's.
# When the guest, its kernel or the run fails, the table says that figure was not measured and
# why (xdpctl_bench --not-measured), and make bench still finishes. BENCH_LANE=0 skips the guest;
# BENCH_LANE_TIMEOUT (default 900 s) bounds it. XDP_BENCH=PATH (an xdp-bench binary of xdp-tools)
# adds the rows of xdpctl against xdp-bench on the same pipeline (tests/bench/peer.cpp).
#
# Cleanup: the runner lives in a private mount namespace (unshare -m), so its bpffs mount and the
# /run/netns entries of its network namespaces vanish with it however it ends; the namespaces,
# their veths and every attached program go when the last reference does. The timeout bounds
# the whole run.
set -euo pipefail

build=build smoke=() timeout_s=600
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--smoke) smoke=(--smoke); shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=$build/cmake/bin/xdpctl_bench
out=$build/bench
[ -x "$bin" ] || { echo "run.sh: $bin not built (run make)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/results.json" "$out/chart.dat" "$out/table.md" "$out/chart.png"

commit=$(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"

# An ended runner's /run/netns entries are plain files outside its mount namespace: remove
# those of dead processes, as the test harness (NetNs::reap_stale) does.
reap() {
	local f pid
	for f in /run/netns/xdpctl-t*; do
		[ -e "$f" ] || continue
		pid=${f#/run/netns/xdpctl-t}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null || ip netns del "${f#/run/netns/}" 2>/dev/null || rm -f "$f"
	done
}
trap reap EXIT

echo "bench: running (at most ${timeout_s}s; figures are noisy on a shared machine)"
timeout --kill-after=10 "$timeout_s" unshare --mount --propagation private \
	"$bin" --out "$out" --commit "$commit" "${smoke[@]}"

# --- the device-bound figure, in the lane's 6.12 guest ---------------------------------------
guest=$out/guest
rm -rf "$guest"
mkdir -p "$guest"
lane_timeout=${BENCH_LANE_TIMEOUT:-900}
why=""
if [ "${BENCH_LANE:-1}" = 0 ]; then
	why="BENCH_LANE=0 skipped the kernel lane's guest, where it runs"
else
	abs_bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	cat >"$guest/lane-extra.sh" <<-EOF
	#!/bin/sh
	# written by tests/bench/run.sh: xdpctl_bench's devbound section in the lane's guest
	mkdir -p /tmp/bench && cd /tmp
	$abs_bin --only devbound --out /tmp/bench --commit $commit ${smoke[*]}
	echo "LANE-BENCH-RC \$?"
	[ -f /tmp/bench/results.json ] && lane-file-out /tmp/bench/results.json results.json
	EOF
	echo "bench: device-bound figure: booting Debian 6.12 under qemu TCG for it (at most ${lane_timeout}s; log $out/lane.log)"
	LANE_EXTRA=$guest/lane-extra.sh LANE_FILES_DIR=$guest LANE_TIMEOUT=$lane_timeout \
		bash "$top/kmod/run-lane.sh" --build "$build" --kernels 6.12 --tests "" 2>&1 |
		tee "$out/lane.log" | grep --line-buffered -E '^lane|xdpctl_bench' || true
	line() { grep -m1 "$1" "$out/lane.log" | sed -e 's/^ *\[[0-9.]*\] //' -e "s/$2//"; }
	if grep -q 'LANE-DMESG-BAD' "$out/lane.log"; then
		why="the 6.12 guest's kernel logged a WARN/BUG/Oops during the run ($out/lane.log)"
	elif [ -f "$guest/results.json" ]; then
		:
	elif grep -q '^lane: skipped: \|^lane: FAILED: ' "$out/lane.log"; then
		why="the kernel lane could not run: $(line '^lane: \(skipped\|FAILED\): ' '^lane: [a-zA-Z]*: ')"
	elif grep -q 'xdpctl_bench: ' "$out/lane.log"; then
		why="it failed in the 6.12 guest: $(line 'xdpctl_bench: ' '^xdpctl_bench: ')"
	elif grep -q 'guest did not finish' "$out/lane.log"; then
		why="the 6.12 guest did not finish within ${lane_timeout}s ($out/lane.log)"
	elif grep -q 'came back damaged' "$out/lane.log"; then
		why="its results came back damaged over the 6.12 guest's console ($out/lane.log)"
	else
		why="no results came back from the 6.12 guest ($out/lane.log)"
	fi
fi
if [ -z "$why" ]; then
	"$bin" --out "$out" --merge "$guest/results.json"
else
	"$bin" --out "$out" --not-measured "$why"
	echo "bench: the device-bound figure was NOT measured: $why"
fi

# gnuplot's title: the machine line of the table
machine=$(head -n1 "$out/table.md" | sed -e 's/^One run of `make bench` on a shared //' -e 's/): medians.*$/)/' -e 's/"/\\"/g')
gnuplot -e "datafile='$out/chart.dat'; outfile='$out/chart.png'; machine=\"$machine\"" "$here/chart.gp"
echo "bench: $out/results.json, $out/chart.png"

[ ${#smoke[@]} -eq 0 ] || exit 0
doc=$top/docs/bench.md
grep -q '<!-- bench:begin -->' "$doc" || { echo "run.sh: no bench markers in docs/bench.md" >&2; exit 1; }
awk -v table="$out/table.md" '
	/<!-- bench:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
	/<!-- bench:end -->/ { skip = 0 }
	!skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
echo "bench: docs/bench.md table updated"
