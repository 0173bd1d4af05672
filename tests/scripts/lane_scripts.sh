#!/usr/bin/env bash
# ctest lane_scripts: what the kernel lane's scripts conclude, without booting a guest.
#  - kmod/run-lane.sh --report on made-up console logs: a guest that died inside a test names the
#    binary, the test and the oops lines; one that died at boot says so; a finished run counts.
#  - kmod/test-all.sh on a host whose rtnetlink "hangs" (the probe replaced by sleep): a failure
#    with the reason under CI=true, a note and the lane alone otherwise.
#  - kmod/lane-host-only.txt: every line is "Suite.Test # why" and every pattern names a test of
#    the built binaries (BINDIR, ctest passes its build dir), so a renamed test neither leaves a
#    stale line nor escapes both the lane and the list's review.
#
#   tests/scripts/lane_scripts.sh [BINDIR]     (default build/cmake)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=${1:-$root/build/cmake}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check WHAT CONDITION-COMMAND...
	local what="$1"
	shift
	if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
has() { grep -qF -- "$2" "$1"; }

cat >"$tmp/died.log" <<'LOG'
LANE-BEGIN 6.12.57+deb12-amd64 6.12.57+deb12-amd64 cpus=2
LANE-BIN /b/prog_xdp_pass_test
[==========] 3 tests from 1 test suite ran. (9 ms total)
[  PASSED  ] 3 tests.
LANE-RC prog_xdp_pass_test 0 1s
LANE-BIN /b/loader_netns_test
[ RUN      ] LoaderNetns.LoadsAndCounts
[       OK ] LoaderNetns.LoadsAndCounts (40 ms)
[ RUN      ] LoaderNetns.ReplaceUnderTraffic
[   81.100021] int3: 0000 [#1] PREEMPT SMP NOPTI
[   81.100100] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI
[   81.100200] RIP: 0010:bpf_dispatcher_xdp_func+0xa/0x10
[   81.100300] Call Trace:
[   81.100400]  <IRQ>
[   81.100500]  veth_xdp_rcv_skb+0x1b0/0x4a0 [veth]
[   81.100600] Kernel panic - not syncing: Fatal exception in interrupt
LOG
bash "$root/kmod/run-lane.sh" --report "$tmp/died.log" 6.12 >"$tmp/died.out" 2>&1
check "died mid-test: counted as a failure" has "$tmp/died.out" "report: 3 passed, 1 failed, 0 skipped"
check "died mid-test: names binary and test" has "$tmp/died.out" "guest died in /b/loader_netns_test, test LoaderNetns.ReplaceUnderTraffic"
check "died mid-test: shows the oops" has "$tmp/died.out" "lane:   [   81.100200] RIP: 0010:bpf_dispatcher_xdp_func+0xa/0x10"
check "died mid-test: shows the call trace" has "$tmp/died.out" "veth_xdp_rcv_skb+0x1b0/0x4a0 [veth]"

printf '[    1.400000] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n[    1.400100] RIP: 0010:sched_clock_cpu+0x10/0x1a0\n' >"$tmp/boot.log"
bash "$root/kmod/run-lane.sh" --report "$tmp/boot.log" 6.12 >"$tmp/boot.out" 2>&1
check "died at boot: said so" has "$tmp/boot.out" "guest died before its init ran (during boot)"
check "died at boot: a failure" has "$tmp/boot.out" "report: 0 passed, 1 failed"

cat >"$tmp/ok.log" <<'LOG'
LANE-BEGIN 6.1.0-44-amd64 6.1.0-44-amd64 cpus=2
LANE-HOST-ONLY 7 tests (kmod/lane-host-only.txt)
LANE-BIN /b/cli_test
[ RUN      ] Cli.One
[  FAILED  ] Cli.One (12 ms)
[ RUN      ] Cli.Two
[  SKIPPED ] Cli.Two (0 ms)
[ RUN      ] Cli.Three
[       OK ] Cli.Three (3 ms)
[==========] 3 tests from 1 test suite ran. (15 ms total)
[  PASSED  ] 1 test.
[  SKIPPED ] 1 test, listed below:
[  SKIPPED ] Cli.Two
[  FAILED  ] 1 test, listed below:
[  FAILED  ] Cli.One
LANE-RC cli_test 1 1s
LANE-DMESG-OK no WARN/BUG/Oops in the kernel log
LANE-END
LOG
bash "$root/kmod/run-lane.sh" --report "$tmp/ok.log" 6.1 >"$tmp/ok.out" 2>&1
check "finished guest: counts (one pass is the clean kernel log)" has "$tmp/ok.out" "report: 2 passed, 1 failed, 1 skipped"
check "finished guest: says how many tests it left to the host" has "$tmp/ok.out" "1 skipped, 7 left to the host"
check "no host-only line: none left to the host" has "$tmp/died.out" "0 skipped, 0 left to the host"
check "finished guest: no death report" bash -c "! grep -q 'guest died' '$tmp/ok.out'"

mkdir -p "$tmp/build"
CI=true XDPCTL_RTNL_PROBE="sleep 30" XDPCTL_RTNL_PROBE_SECS=1 LANE_KERNELS="" \
	bash "$root/kmod/test-all.sh" --build "$tmp/build" >"$tmp/ci.out" 2>&1
rc=$?
check "hanging rtnetlink under CI=true: non-zero exit" test "$rc" -ne 0
check "hanging rtnetlink under CI=true: says why" has "$tmp/ci.out" "host suites NOT RUN"
check "hanging rtnetlink under CI=true: counted as failed" has "$tmp/ci.out" "all: 0 passed, 1 failed, 0 skipped"
env -u CI XDPCTL_RTNL_PROBE="sleep 30" XDPCTL_RTNL_PROBE_SECS=1 LANE_KERNELS="" \
	bash "$root/kmod/test-all.sh" --build "$tmp/build" >"$tmp/dev.out" 2>&1
rc=$?
check "hanging rtnetlink outside CI: the lane alone, exit 0" test "$rc" -eq 0
check "hanging rtnetlink outside CI: still says so" has "$tmp/dev.out" "host suites NOT RUN"

bash "$root/kmod/lane-soak.sh" --build "$tmp/build" x >"$tmp/soak.out" 2>&1
rc=$?
check "lane-soak: a bad N is a usage error" test "$rc" -eq 2
check "lane-soak: says so in one line" test "$(cat "$tmp/soak.out")" = "lane-soak: N must be a number of runs, not 'x'"

# the host-only list: well-formed lines, and each pattern matches a test of the lane's binaries
# (run-lane.sh's default LANE_TESTS globs), as gtest's filter would match it
names="$tmp/tests.txt"
: >"$names"
nbin=0
for b in "$bindir"/*_test "$bindir"/bench_smoke; do
	[ -x "$b" ] || continue
	nbin=$((nbin + 1))
	# "Suite." lines, then "  Test" lines (a value-parameterized one followed by "  # GetParam() = ...")
	"$b" --gtest_list_tests 2>/dev/null | awk '/^[^ ]/ { suite = $1 } /^  [^ ]/ { print suite $1 }' >>"$names"
done
check "host-only list: test binaries found in $bindir" test "$nbin" -gt 0
bad_lines=0 stale=0 npat=0
while IFS= read -r line; do
	case "$line" in '' | '#'*) continue ;; esac
	if ! [[ $line =~ ^([A-Za-z0-9_/*?]+\.[A-Za-z0-9_/*?]+)[[:space:]]+#[[:space:]]*[^[:space:]] ]]; then
		echo "  kmod/lane-host-only.txt: not 'Suite.Test # why': $line"
		bad_lines=$((bad_lines + 1))
		continue
	fi
	pat=${BASH_REMATCH[1]}
	npat=$((npat + 1))
	hit=0
	while IFS= read -r n; do
		# shellcheck disable=SC2053 # the pattern is a glob on purpose (gtest's * and ?)
		[[ $n == $pat ]] && { hit=1; break; }
	done <"$names"
	if [ $hit = 0 ]; then
		echo "  kmod/lane-host-only.txt: $pat names no test of the binaries in $bindir"
		stale=$((stale + 1))
	fi
done <"$root/kmod/lane-host-only.txt"
check "host-only list: every line is 'Suite.Test # why'" test "$bad_lines" -eq 0
check "host-only list: not empty" test "$npat" -gt 0
check "host-only list: every pattern names an existing test" test "$stale" -eq 0

echo "lane_scripts: $fails failed"
[ $fails -eq 0 ]
