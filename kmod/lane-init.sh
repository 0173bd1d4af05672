#!/bin/sh
# /init of the kernel lane's initramfs (kmod/run-lane.sh builds it). Runs as PID 1 under busybox:
# mounts what the tests need, loads the modules listed in /lib/modules/order, runs every binary in
# /etc/lane-tests (in full, not --gtest_brief: a "[ RUN ]" line names the test a dying guest was
# in), scans the kernel log and powers off. Lines starting with LANE- are read by
# run-lane.sh on the host; everything else is the tests' own output.
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# device-bound teardown tests are opt-in on the host (tests/harness/kernel.hpp); a guest is
# disposable and its kernel log is scanned, so run them here
export XDPCTL_DEVBOUND_LIVE=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# /tmp stays on the initramfs root (already a writable tmpfs): a checkout under /tmp keeps its
# build tree visible to the guest
mount -t tmpfs run /run
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run/netns /var && ln -s /run /var/run
ip link set lo up
ulimit -l unlimited

kver=$(cat /etc/lane-kernel)
# tells the binaries they run in the lane's guest (bench_smoke, xdpctl_bench's devbound section)
export XDPCTL_LANE="$kver"
echo "LANE-BEGIN $kver $(uname -r) cpus=$(nproc)"
load_mod() {
	if insmod "/lib/modules/$1.ko"; then
		echo "LANE-MOD $1 loaded"
	else
		echo "LANE-MOD-FAIL $1"
	fi
}
# bpf_ctlmap adds control netdevs to every namespace, which the user-space suites would see as
# devices of their own: they run first, without it; the module's suites (kmod_*) run after it.
for m in $(cat /lib/modules/order); do
	[ "$m" = bpf_ctlmap ] || load_mod "$m"
done

[ -f /etc/lane-extra.sh ] && sh /etc/lane-extra.sh
[ -f /etc/lane-checks.sh ] && sh /etc/lane-checks.sh

# tests that prove nothing a kernel decides run on the host only (kmod/lane-host-only.txt):
# run-lane.sh wrote the negative gtest filter and how many tests it leaves out
filter=$(cat /etc/lane-gtest-filter 2>/dev/null)
[ -n "$filter" ] && echo "LANE-HOST-ONLY $(cat /etc/lane-host-only) tests (kmod/lane-host-only.txt)"

ctlmap_loaded=0
for b in $(grep -v '/kmod_[^/]*$' /etc/lane-tests) $(grep '/kmod_[^/]*$' /etc/lane-tests); do
	case "$b" in
	*/kmod_*)
		if [ $ctlmap_loaded = 0 ] && grep -qx bpf_ctlmap /lib/modules/order; then
			load_mod bpf_ctlmap
			ctlmap_loaded=1
		fi
		;;
	esac
	echo "LANE-BIN $b"
	t0=$(date +%s)
	(cd /tmp && timeout 900 "$b" --gtest_color=no ${filter:+"--gtest_filter=$filter"})
	rc=$?
	echo "LANE-RC $(basename "$b") $rc $(($(date +%s) - t0))s"
done

# the module's exit path (per-namespace netdevs, offload device) runs too. Programs that called
# its kfuncs hold a module reference until their deferred free (RCU tasks trace for sleepable
# SEC("syscall") programs), so rmmod may answer EAGAIN for a moment: retry for up to 30 s.
if [ $ctlmap_loaded = 1 ]; then
	i=0
	until rmmod bpf_ctlmap 2>/tmp/rmmod.err; do
		i=$((i + 1))
		[ $i -ge 60 ] && break
		sleep 0.5
	done
	if [ $i -lt 60 ]; then echo "LANE-MOD bpf_ctlmap unloaded"; else echo "LANE-MOD-FAIL rmmod bpf_ctlmap: $(cat /tmp/rmmod.err)"; fi
fi

# anything the kernel complained about during the run fails the lane
if dmesg | grep -E 'WARNING:|BUG:|Oops|kernel BUG|general protection|Call Trace|UBSAN|KASAN' >/tmp/bad; then
	sed 's/^/LANE-DMESG-BAD /' /tmp/bad
else
	echo "LANE-DMESG-OK no WARN/BUG/Oops in the kernel log"
fi
echo "LANE-END"
sync
poweroff -f
