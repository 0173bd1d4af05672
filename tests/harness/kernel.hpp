// Which kernel the tests run on. The same test binaries run on the build host and, in the qemu
// lane (kmod/run-lane.sh), on Debian's 6.1 and 6.12: a test that needs a newer kernel skips
// with the reason instead of failing there.
//
//   XT_REQUIRE_KERNEL(6, 3, "RX metadata kfuncs");   // GTEST_SKIP()s below 6.3
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace xt {

struct KernelVersion {
	int major = 0, minor = 0, patch = 0;
	std::string release; // uname -r
};

// The running kernel (uname), parsed once.
const KernelVersion &kernel_version();
bool kernel_at_least(int major, int minor);
// Whether a kernel module (or built-in subsystem with BTF) shows up in /sys/kernel/btf.
bool kernel_has_module_btf(const std::string &name);

// Whether this runs in a kernel lane guest (kmod/lane-init.sh sets XDPCTL_LANE=<kver>). A guest
// is ~12-15x slower per process than the host, so a test that mixes kernel-facing checks with
// rows no kernel can change (usage errors, exit 2, refused while parsing; the -j repeat of a row,
// the same error rendered as JSON; the same user-space check reached through every verb) runs
// only the kernel-facing part there, and says so with lane_left_to_host(); the host runs it all
// (docs/lane.md, "Tests the guests leave to the host").
bool in_lane();
// Prints "lane: N WHAT left to the host" (the guest's console shows what a test did not run).
void lane_left_to_host(size_t n, const std::string &what);

} // namespace xt

#define XT_REQUIRE_KERNEL(maj, min, what)                                                             \
	do {                                                                                          \
		if (!::xt::kernel_at_least((maj), (min)))                                             \
			GTEST_SKIP() << (what) << " needs Linux " << (maj) << "." << (min)            \
				     << "+, running " << ::xt::kernel_version().release;              \
	} while (0)

// Tests that bind a program to a device (BPF_F_XDP_DEV_BOUND_ONLY) and then tear the device
// down. On the 6.18.44 build host this oopsed once (use-after-free in __bpf_prog_offload_destroy
// from cleanup_net) and the dead worker kept the RTNL lock, which hangs every later netlink user
// on the machine until a reboot. So on the host they run only on request
// (XDPCTL_DEVBOUND_LIVE=1); the kernel lane sets it, where an oops only costs a disposable guest
// and is caught by the lane's kernel-log scan.
#define XT_REQUIRE_DEVBOUND_LIVE()                                                                    \
	do {                                                                                          \
		const char *on_ = ::getenv("XDPCTL_DEVBOUND_LIVE");                                   \
		if (!on_ || std::string(on_) != "1")                                                  \
			GTEST_SKIP() << "device-bound teardown oopsed the 6.18 host once; runs in the " \
					"kernel lane, or here with XDPCTL_DEVBOUND_LIVE=1";                   \
	} while (0)
