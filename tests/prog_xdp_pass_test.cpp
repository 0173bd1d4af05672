// xdp_pass through BPF_PROG_TEST_RUN: every frame, well-formed or not, comes back unchanged with
// XDP_PASS, and the shared counters see exactly the frames and bytes that went in.
#include <gtest/gtest.h>

#include "prog_run.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;

namespace {

struct Row {
	const char *what;
	Bytes pkt;
};

std::vector<Row> rows()
{
	return {
		{"udp over ipv4", Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(18).build()},
		{"tcp over ipv6", Packet().eth(kMacB, kMacA).ipv6("fd00::1", "fd00::2").tcp(1, 2).build()},
		{"arp request", Packet().eth(kMacBcast, kMacA).arp_request("10.0.0.1", "10.0.0.2", kMacA).build()},
		{"runt: Ethernet header only", truncated(Packet().eth(kMacB, kMacA).payload(46).build(), 14)},
		{"truncated ipv4 header", truncated(Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), 20)},
		{"unknown ethertype", Packet().eth(kMacB, kMacA, 0x1234).payload(50).build()},
		{"vlan in vlan", Packet().eth(kMacB, kMacA).vlan(10, 0x88a8).vlan(20).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build()},
		{"maximum-size frame (1514)", Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).pad_to(1514).build()},
	};
}

} // namespace

TEST(XdpPass, EveryFramePassesUnchangedAndIsCounted)
{
	auto skel = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
	ASSERT_TRUE(skel) << skel.error().message();

	uint64_t packets = 0, bytes = 0;
	for (const auto &row : rows()) {
		SCOPED_TRACE(row.what);
		auto r = run_xdp((*skel)->progs.xdp_pass_prog, row.pkt);
		ASSERT_EQ(r.err, 0) << "test run";
		EXPECT_EQ(r.retval, XDP_PASS) << "verdict";
		EXPECT_EQ(r.data, row.pkt) << "output bytes: " << hex(r.data);
		EXPECT_TRUE(r.meta.empty()) << "no data_meta";
		packets++;
		bytes += row.pkt.size();
	}

	auto c = read_action_stats((*skel)->maps.xdpctl_stats);
	EXPECT_EQ(c[XDP_PASS].packets, packets) << "XDP_PASS packets";
	EXPECT_EQ(c[XDP_PASS].bytes, bytes) << "XDP_PASS bytes";
	for (uint32_t a : {XDP_ABORTED, XDP_DROP, XDP_TX, XDP_REDIRECT})
		EXPECT_EQ(c[a].packets, 0u) << "no other verdict, action " << a;
}

TEST(XdpPass, DataMetaIsLeftAsItCame)
{
	auto skel = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
	ASSERT_TRUE(skel) << skel.error().message();
	Bytes meta{1, 2, 3, 4, 5, 6, 7, 8};
	auto pkt = Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
	auto r = run_xdp((*skel)->progs.xdp_pass_prog, pkt, {.meta = meta});
	ASSERT_EQ(r.err, 0) << "test run";
	EXPECT_EQ(r.retval, XDP_PASS) << "verdict";
	EXPECT_EQ(r.meta, meta) << "data_meta";
	EXPECT_EQ(r.data, pkt) << "output bytes";
}

// The kernel refuses a test-run frame shorter than an Ethernet header; shorter runts cannot reach
// an XDP program from a device either (the driver drops them), so tables start at 14 bytes.
TEST(XdpPass, KernelRefusesTestRunShorterThanEthernetHeader)
{
	auto skel = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
	ASSERT_TRUE(skel) << skel.error().message();
	auto r = run_xdp((*skel)->progs.xdp_pass_prog, Bytes(10, 0xaa));
	EXPECT_EQ(r.err, -EINVAL) << "10-byte frame";
	auto c = read_action_stats((*skel)->maps.xdpctl_stats);
	EXPECT_EQ(c[XDP_PASS].packets, 0u) << "program never ran";
}
