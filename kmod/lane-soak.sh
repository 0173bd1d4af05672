#!/usr/bin/env bash
# The kernel lane N times in a row (`make lane-soak N=10`): proves the guests do not flake. Each run
# is kmod/run-lane.sh as `make test` runs it (every suite, both kernels); a run is green when every
# kernel's guest finished with no failed test and a clean kernel log. Stops at nothing: every run
# is made, then one line per run and kernel, and the closing lines
#
#   soak: N runs, G green, C guest crashes; per run min/median/max S s
#   soak: G passed, F failed
#
# Console logs of runs that were not green are kept in BUILD/lane/soak/run<I>-<kver>.log.
#
#   kmod/lane-soak.sh [--build DIR] [N]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD=build
if [ "${1:-}" = "--build" ]; then
	BUILD="$2"
	shift 2
fi
N="${1:-10}"
case "$N" in '' | *[!0-9]*) echo "lane-soak: N must be a number of runs, not '$N'" >&2; exit 2 ;; esac
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
out="$BUILD/lane/soak"
rm -rf "$out" && mkdir -p "$out"
: >"$out/summary.txt"

green=0 crashes=0 times=()
for i in $(seq 1 "$N"); do
	t0=$(date +%s)
	"$here/run-lane.sh" --build "$BUILD" >"$out/run$i.out" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	times+=("$secs")
	died=0
	[ -s "$BUILD/lane/deaths.txt" ] && { died=1; crashes=$((crashes + $(grep -c 'guest died' "$BUILD/lane/deaths.txt"))); }
	# per kernel: "lane 6.12.x (NNNs): P passed, F failed, S skipped"
	sed -n 's/^lane \([^ ]*\) (\([0-9]*\)s): \(.*\)$/\1 \2 \3/p' "$out/run$i.out" | while read -r kver ksecs rest; do
		printf 'run %2d  %-22s %5ss  %s\n' "$i" "$kver" "$ksecs" "$rest" >>"$out/summary.txt"
	done
	if [ $rc -eq 0 ] && [ $died -eq 0 ]; then
		green=$((green + 1))
		verdict=green
	else
		verdict="NOT green (exit $rc)"
		for d in "$BUILD"/lane/*/console.log; do
			cp "$d" "$out/run$i-$(basename "$(dirname "$d")").log"
		done
		cat "$BUILD/lane/deaths.txt" >>"$out/summary.txt"
	fi
	echo "soak: run $i/$N: $verdict in ${secs}s" | tee -a "$out/summary.txt"
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
min=$(echo "$sorted" | head -n1)
max=$(echo "$sorted" | tail -n1)
med=$(echo "$sorted" | sed -n "$(((N + 1) / 2))p")
cat "$out/summary.txt"
echo "soak: $N runs, $green green, $crashes guest crashes; per run min/median/max ${min}/${med}/${max} s"
echo "soak: $green passed, $((N - green)) failed"
[ "$green" -eq "$N" ]
