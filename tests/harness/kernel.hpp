// Which kernel the tests run on. The same test binaries run on the build host and, in the qemu
// lane (kmod/run-lane.sh), on Debian's 6.1 and 6.12: a test that needs a newer kernel skips
// with the reason instead of failing there.
//
//   XT_REQUIRE_KERNEL(6, 3, "RX metadata kfuncs");   // GTEST_SKIP()s below 6.3
#pragma once

#include <gtest/gtest.h>

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

} // namespace xt

#define XT_REQUIRE_KERNEL(maj, min, what)                                                             \
	do {                                                                                          \
		if (!::xt::kernel_at_least((maj), (min)))                                             \
			GTEST_SKIP() << (what) << " needs Linux " << (maj) << "." << (min)            \
				     << "+, running " << ::xt::kernel_version().release;              \
	} while (0)
