#!/usr/bin/env bash
# `make bench`: runs the benchmark runner, draws the chart and rewrites the README table.
#
#   tests/bench/run.sh [--build DIR] [--smoke] [--timeout SECONDS]
#
# Outputs: DIR/bench/results.json, DIR/bench/chart.png (gnuplot), README.md between the
# <!-- bench:begin --> and <!-- bench:end --> markers (not with --smoke).
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

# gnuplot's title: the machine line of the table
machine=$(head -n1 "$out/table.md" | sed -e 's/^One run of `make bench` on a shared //' -e 's/), other.*$/)/' -e 's/"/\\"/g')
gnuplot -e "datafile='$out/chart.dat'; outfile='$out/chart.png'; machine=\"$machine\"" "$here/chart.gp"
echo "bench: $out/results.json, $out/chart.png"

[ ${#smoke[@]} -eq 0 ] || exit 0
readme=$top/README.md
grep -q '<!-- bench:begin -->' "$readme" || { echo "run.sh: no bench markers in README.md" >&2; exit 1; }
awk -v table="$out/table.md" '
	/<!-- bench:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
	/<!-- bench:end -->/ { skip = 0 }
	!skip { print }' "$readme" > "$readme.tmp" && mv "$readme.tmp" "$readme"
echo "bench: README.md table updated"
