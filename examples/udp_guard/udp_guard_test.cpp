// Unit test of udp_guard.bpf.c through BPF_PROG_TEST_RUN, with the harness xdpctl tests its own
// programs with (installed: libxdpctl_testing, <xdpctl/testing/*.hpp>): a table of described
// packets and the verdict each must get, the frame left unchanged, then the counters the
// program kept in the collection's layout. Needs root (CAP_BPF, CAP_SYS_ADMIN for test runs).
#include <gtest/gtest.h>

#include <xdpctl/skeleton.hpp>
#include <xdpctl/testing/packet.hpp>
#include <xdpctl/testing/prog_run.hpp>

#include "udp_guard.skel.h" // bpftool gen skeleton udp_guard.bpf.o name udp_guard

using namespace xt;

namespace {
constexpr uint16_t kBlocked = 5353;

Bytes udp4(uint16_t dport)
{
	return Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(40000, dport).payload(18).build();
}
} // namespace

TEST(UdpGuard, VerdictsAndCounters)
{
	auto s = xdpctl::open_skel<udp_guard>("udp_guard");
	ASSERT_TRUE(s) << s.error().message();
	(*s)->rodata->blocked_port = kBlocked; // rodata: set between open and load
	auto loaded = xdpctl::load_skel(*s, "udp_guard");
	ASSERT_TRUE(loaded) << loaded.error().message();

	struct Row {
		const char *what;
		Bytes pkt;
		uint32_t verdict;
	};
	const Row rows[] = {
		{"UDP to the blocked port", udp4(kBlocked), XDP_DROP},
		{"UDP to another port", udp4(53), XDP_PASS},
		{"TCP to the blocked port",
		 Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").tcp(40000, kBlocked).build(), XDP_PASS},
		{"the blocked port behind a VLAN tag",
		 Packet().eth(kMacB, kMacA).vlan(100).ipv4("10.0.0.1", "10.0.0.2").udp(1, kBlocked).payload(4).build(),
		 XDP_DROP},
		{"IPv6 passes (the guard is IPv4 only)",
		 Packet().eth(kMacB, kMacA).ipv6("fd00::1", "fd00::2").udp(1, kBlocked).payload(4).build(), XDP_PASS},
		{"ARP passes", Packet().eth(kMacBcast, kMacA).arp_request("10.0.0.1", "10.0.0.2", kMacA).build(), XDP_PASS},
		{"IPv4 header cut short", truncated(udp4(kBlocked), 14 + 10), XDP_DROP},
		{"UDP header cut short", truncated(udp4(kBlocked), 14 + 20 + 4), XDP_DROP},
	};

	ActionCounters want{};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		auto run = run_xdp((*s)->progs.udp_guard, r.pkt);
		ASSERT_EQ(run.err, 0) << "BPF_PROG_TEST_RUN";
		EXPECT_EQ(run.retval, r.verdict) << hex(r.pkt);
		EXPECT_EQ(run.data, r.pkt) << "the frame is not changed";
		want[r.verdict].packets++;
		want[r.verdict].bytes += r.pkt.size();
	}

	auto got = read_action_stats((*s)->maps.xdpctl_stats);
	for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++) {
		EXPECT_EQ(got[a].packets, want[a].packets) << "packets counted for action " << a;
		EXPECT_EQ(got[a].bytes, want[a].bytes) << "bytes counted for action " << a;
	}
}
