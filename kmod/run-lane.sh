#!/usr/bin/env bash
# The kernel lane: boots Debian's 6.1 and 6.12 kernels under qemu (TCG, no KVM needed) with a
# busybox initramfs and runs the project's tests there, against a kernel that is not the host's.
# The guests run side by side (LANE_JOBS=1: one after the other), each single-threaded TCG.
#
#   kmod/run-lane.sh [--build DIR] [--kernels "6.1 6.12"] [--tests "*_test bench_smoke"]
#   kmod/run-lane.sh --report CONSOLE_LOG [KVER]    counts and death report of one guest's log
#
# The initramfs holds busybox, the guest kernel's veth/sch_ingress/cls_bpf modules, bpf_ctlmap.ko
# when `make kmod` built it for that kernel, the gtest binaries (stripped) with every shared
# library ldd names, bpftool, ip, and build/bpf/*.bpf.o. Binaries, objects and the build tree keep
# their absolute host paths inside the guest, so the paths compiled into the tests still hold.
# The guest's /init (kmod/lane-init.sh) mounts proc/sys/bpffs/tracefs, loads the modules, runs
# each binary (gtest output in full), scans the kernel log for WARN/BUG/Oops and powers off.
#
# Files out of the guest: a guest-side script (LANE_EXTRA=FILE, run before the test binaries)
# hands a file to the host with `lane-file-out PATH [NAME]`, which prints it base64-encoded between
# LANE-FILE-BEGIN/-END markers with its md5sum; after the guest ended this script writes it to
# LANE_FILES_DIR/NAME (default build/lane/<kver>/files/) and prints "lane: guest file NAME -> PATH",
# or says that it came back damaged. tests/bench/run.sh gets the device-bound benchmark this way.
#
# Output: the guest's console (prefixed), then one line per kernel
#   lane 6.1.0-56-amd64 (Ns): N passed, N failed, N skipped, N left to the host
# (the last: tests of kmod/lane-host-only.txt, which only the host runs; LANE_HOST_ONLY= runs all)
# and a last combined line "lane: N passed, N failed, N skipped". Exit status 1 when any test
# failed, a binary crashed, the kernel log shows a WARN/BUG/Oops, or the guest did not finish.
# A missing kernel package, qemu or busybox is a failure when CI=true and a skip otherwise.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=build
KERNELS="${LANE_KERNELS-6.1 6.12}"   # set but empty: no guest (tests/scripts/lane_scripts.sh)
# bench_smoke: in a guest it smokes the device-bound benchmark section (tests/bench/bench_smoke.cpp)
TESTS="${LANE_TESTS:-*_test bench_smoke}"
TIMEOUT="${LANE_TIMEOUT:-1500}"
# tests the guests leave to the host (kmod/lane-host-only.txt, docs/lane.md); set but empty: run all
HOST_ONLY="${LANE_HOST_ONLY-$here/lane-host-only.txt}"
REPORT_LOG=""   # seconds per guest, boot to power-off
MEM="${LANE_MEM:-1G}"
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$2"; shift 2 ;;
	--kernels) KERNELS="$2"; shift 2 ;;
	--tests) TESTS="$2"; shift 2 ;;
	--report) REPORT_LOG="$2"; REPORT_KVER="${3:-?}"; shift $(($# >= 3 ? 3 : 2)) ;;
	*) echo "usage: $0 [--build DIR] [--kernels LIST] [--tests GLOBS] | --report CONSOLE_LOG [KVER]" >&2; exit 2 ;;
	esac
done
cd "$root" || exit 1
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
CMAKE_DIR="$BUILD/cmake"
total_pass=0 total_fail=0 total_skip=0 broken=0
mkdir -p "$BUILD/lane" && : >"$BUILD/lane/deaths.txt"

# missing prerequisite: a failure in CI, a skip (with the reason) elsewhere
missing() {
	if [ "${CI:-}" = "true" ]; then
		echo "lane: FAILED: $*" >&2
		broken=1
		total_fail=$((total_fail + 1))
	else
		echo "lane: skipped: $* (fails when CI=true)" >&2
	fi
}

# the gtest patterns of a host-only list ($1), joined with ':' (comments and blank lines dropped)
host_only_patterns() {
	[ -n "$1" ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1" | paste -sd: -
}

# copies a file to the same absolute path under $1 (the initramfs root)
put() {
	local dst="$1" f="$2"
	mkdir -p "$dst$(dirname "$f")"
	cp -L "$f" "$dst$f"
}

# copies an ELF and every library ldd resolves for it (and the dynamic loader)
put_elf() {
	local dst="$1" f="$2" lib
	put "$dst" "$f"
	strip --strip-debug "$dst$f" 2>/dev/null || true
	for lib in $(ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'); do
		[ -e "$dst$lib" ] && continue
		put "$dst" "$lib"
		strip --strip-debug "$dst$lib" 2>/dev/null || true
	done
}

# module name -> path in the extracted tree (handles .ko.xz/.ko.zst by unpacking to $2)
modpath() {
	local kroot="$1" name="$2" out="$3" p
	p=$(find "$kroot/lib/modules" -name "$name.ko*" | head -n1)
	[ -n "$p" ] || return 1
	case "$p" in
	*.xz) xz -dc "$p" >"$out/$name.ko" ;;
	*.zst) zstd -qdc "$p" >"$out/$name.ko" ;;
	*.gz) gzip -dc "$p" >"$out/$name.ko" ;;
	*) cp "$p" "$out/$name.ko" ;;
	esac
}

# adds module $3 and its dependencies (from .modinfo) to $2/lib/modules, in load order to $2/modules.order
add_module() {
	local kroot="$1" dst="$2" name="$3" dep
	[ -f "$dst/lib/modules/$name.ko" ] && return 0
	modpath "$kroot" "$name" "$dst/lib/modules" || { echo "lane: module $name not in $kroot" >&2; return 1; }
	for dep in $(objcopy -O binary --only-section=.modinfo "$dst/lib/modules/$name.ko" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$kroot" "$dst" "$dep" || return 1
	done
	echo "$name" >>"$dst/lib/modules/order"
}

build_initramfs() {
	local kver="$1" kroot="$2" dst="$3" img="$4" t b
	rm -rf "$dst"
	mkdir -p "$dst"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules,usr/bin,usr/sbin}
	# busybox for the tools; dash as /bin/sh: busybox's sh prefers its own applets over PATH, and
	# its `ip` applet knows no `netns` (the tests' popen() must find iproute2's ip)
	cp /bin/busybox "$dst/bin/busybox"
	put_elf "$dst" "$(readlink -f /bin/sh)"
	ln -sf "$(readlink -f /bin/sh)" "$dst/bin/sh"
	cp "$here/lane-init.sh" "$dst/init"
	chmod +x "$dst/init"
	: >"$dst/lib/modules/order"
	for t in veth sch_ingress cls_bpf; do
		add_module "$kroot" "$dst" "$t" || return 1
	done
	if [ -f "$BUILD/kmod/$kver/bpf_ctlmap.ko" ]; then
		cp "$BUILD/kmod/$kver/bpf_ctlmap.ko" "$dst/lib/modules/bpf_ctlmap.ko"
		echo bpf_ctlmap >>"$dst/lib/modules/order"
	fi
	put_elf "$dst" "$(command -v bpftool || echo /usr/sbin/bpftool)"
	put_elf "$dst" "$(command -v ip || echo /usr/sbin/ip)"
	ln -sf "$(command -v bpftool)" "$dst/usr/bin/bpftool" 2>/dev/null
	ln -sf "$(command -v ip)" "$dst/usr/bin/ip" 2>/dev/null
	# what the suites run besides ip: ethtool, ping, tc, capsh, setpriv (busybox's applets differ)
	for tool in ethtool ping tc capsh setpriv; do
		p=$(command -v "$tool") || continue
		put_elf "$dst" "$(readlink -f "$p")"
		[ "$(readlink -f "$p")" = "$p" ] || ln -sf "$(readlink -f "$p")" "$dst$p" 2>/dev/null
	done
	[ -d "$BUILD/bpf" ] && for t in "$BUILD"/bpf/*.bpf.o; do put "$dst" "$t"; done
	[ -x "$CMAKE_DIR/bin/xdpctl" ] && put_elf "$dst" "$CMAKE_DIR/bin/xdpctl"
	# the benchmark runner: bench_smoke runs it, and make bench's LANE_EXTRA (tests/bench/run.sh)
	[ -x "$CMAKE_DIR/bin/xdpctl_bench" ] && put_elf "$dst" "$CMAKE_DIR/bin/xdpctl_bench"
	cat >"$dst/bin/lane-file-out" <<'EOF'
#!/bin/sh
# lane-file-out PATH [NAME]: hands PATH to the host over the console (kmod/run-lane.sh)
[ -f "$1" ] || { echo "lane-file-out: no file $1" >&2; exit 1; }
name=${2:-$(basename "$1")}
echo "LANE-FILE-BEGIN $name"
base64 "$1" | sed 's/^/LANE-FILE /'
echo "LANE-FILE-END $name $(md5sum <"$1" | cut -d' ' -f1)"
EOF
	chmod +x "$dst/bin/lane-file-out"
	: >"$dst/etc/lane-tests"
	# the guest runs each binary with --gtest_filter=-PATTERNS (/etc/lane-gtest-filter) and says
	# how many tests that leaves to the host (/etc/lane-host-only, counted here: listing the tests
	# in the guest would cost a process per binary)
	local patterns nhost=0 n
	patterns=$(host_only_patterns "$HOST_ONLY")
	for t in $TESTS; do
		for b in "$CMAKE_DIR"/$t; do
			[ -x "$b" ] || continue
			put_elf "$dst" "$b"
			echo "$b" >>"$dst/etc/lane-tests"
			if [ -n "$patterns" ]; then
				n=$("$b" --gtest_list_tests --gtest_filter="$patterns" 2>/dev/null | grep -c '^  ')
				nhost=$((nhost + n))
			fi
		done
	done
	if [ -n "$patterns" ]; then
		echo "-$patterns" >"$dst/etc/lane-gtest-filter"
		echo "$nhost" >"$dst/etc/lane-host-only"
	fi
	echo "$kver" >"$dst/etc/lane-kernel"
	# guest-side checks that are shell, not gtest (kmod/lane-checks.sh), and LANE_EXTRA=FILE for
	# debugging or for make bench (tests/bench/run.sh): both run after the modules are loaded, before
	# the test binaries
	[ -f "$here/lane-checks.sh" ] && cp "$here/lane-checks.sh" "$dst/etc/lane-checks.sh"
	[ -n "${LANE_EXTRA:-}" ] && cp "$LANE_EXTRA" "$dst/etc/lane-extra.sh"
	(cd "$dst" && find . | cpio -o -H newc --quiet) >"$img"
}

# writes every file a guest handed out with lane-file-out (console log $1) into directory $2
extract_files() {
	local log="$1" dir="$2" name sum tmp f
	grep -q '^LANE-FILE-BEGIN ' "$log" || return 0
	mkdir -p "$dir"
	tmp=$(mktemp -d)
	# a kernel message printed in the middle of the block is dropped by the prefix match; one
	# that split a line shows up in the md5sum
	awk -v d="$tmp" '
	/^LANE-FILE-BEGIN / { name = $2; f = d "/" name ".b64"; printf "" > f; next }
	/^LANE-FILE-END /   { if (name == $2) { close(f); print $3 > (d "/" name ".md5"); close(d "/" name ".md5") } name = ""; next }
	/^LANE-FILE / && name != "" { print substr($0, 11) >> f }' "$log"
	for f in "$tmp"/*.md5; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .md5)
		sum=$(cat "$f")
		if base64 -d "$tmp/$name.b64" >"$tmp/$name" 2>/dev/null && [ "$(md5sum <"$tmp/$name" | cut -d' ' -f1)" = "$sum" ]; then
			mv "$tmp/$name" "$dir/$name"
			echo "lane: guest file $name -> $dir/$name"
		else
			echo "lane: guest file $name came back damaged over the console (md5sum differs); not kept" >&2
		fi
	done
	rm -rf "$tmp"
}

# parses one guest log: prints "P F S H" (passed, failed, skipped, left to the host by
# kmod/lane-host-only.txt: not run in the guest, so in none of the first three)
parse_log() {
	# gtest prints one "[  FAILED  ] T (N ms)" line per failed test (its closing list repeats the
	# names without the time), then
	# "[==========] N tests from M test suites ran." and "[  PASSED  ] N tests." (skipped = the rest)
	awk '
	/^LANE-BIN /     { fbin = 0; ran = -1; pbin = 0 }
	/^\[  FAILED  \] .*\([0-9]+ ms\)$/ { f++; fbin++ }
	/^\[==========\] [0-9]+ tests? from .* ran/ { ran = $2 }
	/^\[  PASSED  \] [0-9]+ test/ { p += $4; pbin = $4 }
	/^LANE-RC / {
		if (ran >= 0) s += ran - pbin - fbin
		if ($3 != 0 && fbin == 0) f++   # crashed, timed out or failed without a test failing
	}
	/^LANE-MOD-FAIL / { f++ }
	/^LANE-DMESG-OK/ { p++ }
	/^LANE-DMESG-BAD/ { dbad = 1 }
	/^LANE-HOST-ONLY [0-9]+ / { h = $2 }
	/^LANE-END/      { end = 1 }
	END {
		if (dbad) f++
		if (!end) f++
		printf "%d %d %d %d\n", p, f, s, h
	}' "$1"
}

# When a guest died mid-run (no LANE-END): which binary was running (a LANE-BIN with no LANE-RC),
# which test (the last "[ RUN      ]" of that binary with no result line after it) and the kernel's
# oops/panic lines. Prints nothing for a guest that finished.
death_report() {
	local log="$1" kver="$2"
	grep -q '^LANE-END' "$log" && return 0
	awk -v kver="$kver" '
	/^LANE-BIN /  { bin = $2; test = ""; done = 0 }
	/^LANE-RC /   { bin = ""; test = "" }
	/^\[ RUN      \] / { test = $4; done = 0 }
	/^\[       OK \] |^\[  FAILED  \] .*\([0-9]+ ms\)$|^\[  SKIPPED \] / { done = 1 }
	# the oops from its first line on: header, RIP, registers, call trace (40 lines at most)
	/Oops|BUG:|Kernel panic|general protection|soft lockup|blocked for more than|hung_task/ { inoops = 1 }
	inoops && !/^LANE-|^\[ *(RUN|OK|FAILED|SKIPPED|PASSED) *\]/ { if (n < 40) oops[n++] = $0 }
	/^LANE-BEGIN/ { began = 1 }
	END {
		if (!began) where = "before its init ran (during boot)"
		else if (bin == "") where = "between test binaries"
		else where = "in " bin (test != "" && !done ? ", test " test : ", between tests")
		printf "lane: kernel %s: guest died %s\n", kver, where
		for (i = 0; i < n; i++) printf "lane:   %s\n", oops[i]
		if (n == 0) print "lane:   (no oops or panic lines on the console: timeout or qemu exit)"
	}' "$log"
}

# --report LOG [KVER]: what the lane reads from a guest's console log, without booting anything
# (tests/lane_scripts_test.sh feeds it made-up logs)
if [ -n "$REPORT_LOG" ]; then
	read -r p f sk h <<<"$(parse_log "$REPORT_LOG")"
	echo "report: $p passed, $f failed, $sk skipped, $h left to the host"
	death_report "$REPORT_LOG" "$REPORT_KVER"
	exit 0
fi

command -v qemu-system-x86_64 >/dev/null || { missing "qemu-system-x86_64 not installed (make deps)"; }
[ -x /bin/busybox ] || missing "/bin/busybox not installed (busybox-static, make deps)"
command -v cpio >/dev/null || missing "cpio not installed (make deps)"
# boots one guest (kernel $1 = series, $2 = kver); its console goes to $work/console.log and,
# prefixed with the series, to stdout; the seconds it ran to $work/secs
boot_guest() {
	local s="$1" kver="$2" kroot="$BUILD/kernels/$2/root" work="$BUILD/lane/$2" start
	# Single-threaded TCG: with -accel tcg -smp 2 (one host thread per vCPU) guests died while
	# the kernel text-patched code another vCPU was running (6.12: "Oops: int3" in
	# bpf_dispatcher_xdp_func during an XDP attach under traffic, and once in sched_clock_cpu
	# at boot when static keys flipped); thread=single runs both vCPUs in one host thread, so
	# cross-modified code is seen consistently. No retry: a guest that dies fails the lane.
	echo "lane: booting $kver ($(du -h "$work/initramfs.cpio" | cut -f1) initramfs, TCG single-threaded, timeout ${TIMEOUT}s)"
	start=$(date +%s)
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg,thread=single -cpu max -smp 2 -m "$MEM" \
		-kernel "$kroot/boot/vmlinuz-$kver" -initrd "$work/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off" \
		-nic none -display none -monitor none -serial stdio -no-reboot </dev/null 2>&1 |
		tr -d '\r' | tee "$work/console.log" | sed -u "s/^/  [$s] /"
	echo $(($(date +%s) - start)) >"$work/secs"
}

if [ $broken -eq 0 ] && command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ] && command -v cpio >/dev/null; then
	booted=()
	for s in $KERNELS; do
		if [ ! -f "$BUILD/kernels/$s/.done" ]; then
			"$here/fetch-kernels.sh" --build "$BUILD" "$s" >/dev/null || { missing "kernel $s: Debian package not fetched"; continue; }
		fi
		kver=$(readlink "$BUILD/kernels/$s")
		work="$BUILD/lane/$kver"
		mkdir -p "$work"
		rm -f "$work/console.log" "$work/secs"
		if ! build_initramfs "$kver" "$BUILD/kernels/$kver/root" "$work/initramfs" "$work/initramfs.cpio"; then
			echo "lane: kernel $kver: initramfs build failed" >&2
			total_fail=$((total_fail + 1)); broken=1
			continue
		fi
		booted+=("$s=$kver")
	done
	# Each guest is one host thread (single-threaded TCG): with LANE_JOBS (default: the number of
	# CPUs) >= 2 the guests run side by side, each console line prefixed with its kernel series.
	if [ "${LANE_JOBS:-$(nproc)}" -ge 2 ]; then
		for b in "${booted[@]}"; do boot_guest "${b%%=*}" "${b#*=}" & done
		wait
	else
		for b in "${booted[@]}"; do boot_guest "${b%%=*}" "${b#*=}"; done
	fi
	for b in "${booted[@]}"; do
		kver=${b#*=}
		work="$BUILD/lane/$kver"
		secs=$(cat "$work/secs" 2>/dev/null || echo "?")
		[ -n "${LANE_FILES_DIR:-}" ] || rm -rf "$work/files"
		extract_files "$work/console.log" "${LANE_FILES_DIR:-$work/files}"
		read -r p f sk h <<<"$(parse_log "$work/console.log")"
		if ! grep -q '^LANE-END' "$work/console.log"; then
			echo "lane: kernel $kver: guest did not finish (timeout, panic or crash); see $work/console.log" >&2
			death_report "$work/console.log" "$kver" | tee -a "$BUILD/lane/deaths.txt" >&2
		fi
		echo "lane $kver (${secs}s): $p passed, $f failed, $sk skipped, $h left to the host"
		total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + sk))
	done
fi
echo "lane: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ $broken -eq 0 ]
