#!/usr/bin/env bash
# Runs the fuzzers of tests/fuzz/ (built by CMake into BUILD/cmake/fuzz/), each against its model.
#
#   tests/fuzz/run.sh [--build DIR] (--runs N | --seconds S) [PROG...]
#
# --runs N: exactly N inputs per fuzzer from a fixed seed (what `make test` runs: a mismatch fails
# CI); --seconds S: S seconds each (`make fuzz FUZZ_SECONDS=S`), growing a corpus kept in
# BUILD/fuzz/corpus/PROG between runs. Every fuzzer starts from the seed corpus (the captures of
# tests/fuzz/seeds/). One line per fuzzer, then the closing line:
#
#   fuzz: PROG: N frames, M mismatches, T s
#   fuzz: K fuzzers, N frames, M mismatches
#
# A mismatch keeps its input in BUILD/fuzz/crashes/PROG/ (replay: BUILD/cmake/fuzz/fuzz_PROG FILE)
# and prints what the program and the model answered. Exit 1 on any mismatch or crash.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=build runs="" secs=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	-*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ -n "$runs$secs" ] || { echo "fuzz: give --runs N or --seconds S" >&2; exit 2; }
for v in $runs $secs; do
	case "$v" in '' | *[!0-9]*) echo "fuzz: '$v' is not a number" >&2; exit 2 ;; esac
done
bin="$BUILD/cmake/fuzz"
seeds="$bin/seeds"
[ -d "$seeds" ] || { echo "fuzz: no fuzzers in $bin (run make first)" >&2; exit 2; }
progs=("$@")
if [ ${#progs[@]} -eq 0 ]; then
	for f in "$bin"/fuzz_*; do [ -x "$f" ] && progs+=("${f##*/fuzz_}"); done
fi

total=0 bad=0 n=0
for p in "${progs[@]}"; do
	exe="$bin/fuzz_$p"
	[ -x "$exe" ] || { echo "fuzz: no fuzzer for '$p' ($exe)" >&2; exit 2; }
	crashes="$BUILD/fuzz/crashes/$p"
	mkdir -p "$crashes"
	if [ -n "$runs" ]; then
		corpus=$(mktemp -d) # a fixed start: the same inputs every CI run
		limit=(-runs="$runs" -seed=1)
	else
		corpus="$BUILD/fuzz/corpus/$p"
		mkdir -p "$corpus"
		limit=(-max_total_time="$secs")
	fi
	log=$(mktemp)
	t0=$(date +%s)
	"$exe" -len_control=0 -max_len=4096 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"${limit[@]}" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	t=$(($(date +%s) - t0))
	frames=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	frames=${frames:-0}
	mism=0
	if [ $rc -ne 0 ]; then
		mism=1
		grep -A12 -E '^MISMATCH|^==[0-9]+==ERROR|^fuzz setup' "$log" | head -n 30 >&2
		echo "fuzz: $p: input kept in $crashes/" >&2
	fi
	echo "fuzz: $p: $frames frames, $mism mismatches, $t s"
	total=$((total + frames)) bad=$((bad + mism)) n=$((n + 1))
	rm -f "$log"
	[ -n "$runs" ] && rm -rf "$corpus"
done
echo "fuzz: $n fuzzers, $total frames, $bad mismatches"
[ $bad -eq 0 ]
