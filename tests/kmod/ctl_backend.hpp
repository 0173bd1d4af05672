// The control map contract tests (tests/ctl_*_test.cpp) run against every backend: their
// fixtures are value-parameterized over ctl::BackendChoice. Built as ctl_*_test (ctest, the host
// and the lane's user-space pass) they run User and Kernel, and Kernel skips with the reason
// when bpf_ctlmap is not loaded (never on the host: CONFIG_MODULES is off). Built a second time
// from the same source as kmod_ctl_*_test (CMakeLists.txt, XDPCTL_CTL_KERNEL_ONLY) they run
// Kernel only, in the lane after the module is loaded, where its absence is a failure.
//
// The module adds its control netdevs (ctl_xdp_stats, ctl_xdp_attr, ctl_xdp_md) to every
// namespace; both backends list them like any netdev, so tests that count devices add
// module_netdevs().
#pragma once

#include <net/if.h>

#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "kernel.hpp"
#include "xdpctl/ctlmap.hpp"

namespace xt {

inline std::vector<xdpctl::ctl::BackendChoice> ctl_backends()
{
#ifdef XDPCTL_CTL_KERNEL_ONLY
	return {xdpctl::ctl::BackendChoice::Kernel};
#else
	return {xdpctl::ctl::BackendChoice::User, xdpctl::ctl::BackendChoice::Kernel};
#endif
}

inline std::string ctl_backend_name(const ::testing::TestParamInfo<xdpctl::ctl::BackendChoice> &p)
{
	return p.param == xdpctl::ctl::BackendChoice::Kernel ? "Kernel" : "User";
}

// The control netdevs of bpf_ctlmap in the calling thread's namespace: 0 or 3.
inline size_t module_netdevs()
{
	size_t n = 0;
	for (const char *d : {"ctl_xdp_stats", "ctl_xdp_attr", "ctl_xdp_md"})
		n += if_nametoindex(d) != 0;
	return n;
}

// Empty when `which` can answer in this namespace, else why not. Call inside the test namespace.
inline std::string ctl_backend_missing(xdpctl::ctl::BackendChoice which)
{
	if (which != xdpctl::ctl::BackendChoice::Kernel)
		return {};
	auto m = xdpctl::ctl::ControlMap::create(BPF_CTRL_XDP_STATS, which);
	return m ? std::string() : m.error().message();
}

// The avail bits of a value (every value starts ifindex, command, avail).
inline uint32_t ctl_avail_of(std::span<const std::byte> v)
{
	uint32_t a;
	std::memcpy(&a, v.data() + 8, sizeof(a));
	return a;
}

// The avail bits only one backend may have, for this device on this kernel; the reasons are
// listed at the top of tests/kmod/agree_test.cpp. Nothing else may differ between the two.
inline uint32_t ctl_user_only(uint32_t type)
{
	return type == BPF_CTRL_XDP_STATS ? BPF_CTRL_STATS_QSTATS : 0;
}

inline uint32_t ctl_kernel_only(uint32_t type, bool veth)
{
	if (type == BPF_CTRL_XDP_ATTR && !veth && !kernel_at_least(6, 3))
		return BPF_CTRL_ATTR_REDIRECT_TARGET;
	if (type == BPF_CTRL_XDP_MD && !kernel_at_least(6, 8))
		return BPF_CTRL_MD_FEATURES;
	return 0;
}

} // namespace xt

// In a parameterized fixture's SetUp, after NetnsTest::SetUp(): skips (ctl_*_test) or fails
// (kmod_ctl_*_test) when the backend under test is not there.
#ifdef XDPCTL_CTL_KERNEL_ONLY
#define XT_REQUIRE_CTL_BACKEND(which)                                                                 \
	do {                                                                                          \
		auto why_ = ::xt::ctl_backend_missing(which);                                         \
		ASSERT_TRUE(why_.empty()) << "kernel backend in the lane: " << why_;                  \
	} while (0)
#else
#define XT_REQUIRE_CTL_BACKEND(which)                                                                 \
	do {                                                                                          \
		auto why_ = ::xt::ctl_backend_missing(which);                                         \
		if (!why_.empty())                                                                    \
			GTEST_SKIP() << "kernel backend absent (" << why_                             \
				     << "); it runs in the qemu lane as kmod_<this suite>";               \
	} while (0)
#endif
