// The metadata producer through BPF_PROG_TEST_RUN: every frame passes unchanged and carries in
// data_meta exactly the struct xdpctl_meta recomputed here from the row's described flow (C++
// reference in tests/harness/meta_ref.cpp). The kfunc program needs a device;
// tests/live_meta_test.cpp covers it and the TC consumer with real traffic.
#include <gtest/gtest.h>

#include "meta_ref.hpp"
#include "prog_run.hpp"
#include "xdp_meta_producer.skel.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;

namespace {

constexpr uint16_t kMarkedPort = 2000;
constexpr uint32_t kPortMark = 0x7d0;
constexpr uint32_t kDefaultMark = 0x99;

struct Row {
	const char *what;
	Bytes pkt;
	std::optional<FlowTuple> flow; // nullopt: no flow hash expected
	bool port_marked = false;      // destination port is in meta_marks
};

Bytes ipv4_fragment(Bytes pkt)
{
	pkt[14 + 6] |= 0x20; // More Fragments: the UDP header is there, but not hashed
	return pkt;
}

std::vector<Row> rows()
{
	auto udp4 = Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, kMarkedPort).payload(18).build();
	FlowTuple udp4_flow{"10.0.0.1", "10.0.0.2", 17, 1000, kMarkedPort};
	return {
		{"udp over ipv4, marked port", udp4, udp4_flow, true},
		{"tcp over ipv4, unmarked port", Packet().eth(kMacB, kMacA).ipv4("192.168.1.10", "192.168.1.20").tcp(40000, 80).build(),
		 FlowTuple{"192.168.1.10", "192.168.1.20", 6, 40000, 80}},
		{"udp over ipv6, marked port", Packet().eth(kMacB, kMacA).ipv6("fd00::1", "fd00::2").udp(5353, kMarkedPort).payload(10).build(),
		 FlowTuple{"fd00::1", "fd00::2", 17, 5353, kMarkedPort}, true},
		{"tcp over ipv6", Packet().eth(kMacB, kMacA).ipv6("fd00::a", "fd00::b").tcp(1, 2).build(),
		 FlowTuple{"fd00::a", "fd00::b", 6, 1, 2}},
		{"icmp over ipv4: no ports", Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2", 64, 1).payload(16).build(),
		 FlowTuple{"10.0.0.1", "10.0.0.2", 1}},
		{"ipv4 fragment: addresses only", ipv4_fragment(udp4), FlowTuple{"10.0.0.1", "10.0.0.2", 17}},
		{"802.1Q-tagged udp over ipv4", Packet().eth(kMacB, kMacA).vlan(100).ipv4("10.0.0.1", "10.0.0.2").udp(1000, kMarkedPort).build(),
		 udp4_flow, true},
		{"vlan in vlan (802.1ad + 802.1Q)", Packet().eth(kMacB, kMacA).vlan(10, 0x88a8).vlan(20).ipv4("10.0.0.1", "10.0.0.2").udp(1000, kMarkedPort).build(),
		 udp4_flow, true},
		{"three vlan tags: not parsed", Packet().eth(kMacB, kMacA).vlan(1, 0x88a8).vlan(2).vlan(3).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
		 std::nullopt},
		{"arp request: not ip", Packet().eth(kMacBcast, kMacA).arp_request("10.0.0.1", "10.0.0.2", kMacA).build(), std::nullopt},
		{"unknown ethertype", Packet().eth(kMacB, kMacA, 0x1234).payload(50).build(), std::nullopt},
		{"runt: Ethernet header only", truncated(udp4, 14), std::nullopt},
		{"truncated ipv4 header", truncated(udp4, 14 + 10), std::nullopt},
		{"truncated udp header", truncated(udp4, 14 + 20 + 4), std::nullopt},
		{"truncated ipv6 header", truncated(Packet().eth(kMacB, kMacA).ipv6("fd00::1", "fd00::2").udp(1, 2).build(), 14 + 39),
		 std::nullopt},
		{"maximum-size frame (1514)", Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, kMarkedPort).pad_to(1514).build(),
		 udp4_flow, true},
	};
}

struct Producer {
	xdpctl::Skel<xdp_meta_producer> skel;
	int prog() const { return bpf_program__fd(skel->progs.xdp_meta_producer); }
	uint64_t counter(uint32_t c) const { return percpu_u64(bpf_map__fd(skel->maps.meta_counters), c); }
};

// default_mark != 0 is set through rodata before load; meta_marks gets kMarkedPort.
std::optional<Producer> load_producer(uint32_t default_mark)
{
	auto s = xdpctl::open_skel<xdp_meta_producer>("xdp_meta_producer");
	EXPECT_TRUE(s) << "open: " << s.error().message();
	if (!s)
		return std::nullopt;
	(*s)->rodata->default_mark = default_mark;
	auto st = xdpctl::load_skel(*s, "xdp_meta_producer");
	EXPECT_TRUE(st) << "load: " << st.error().message();
	if (!st)
		return std::nullopt;
	uint32_t port = kMarkedPort;
	uint32_t mark = kPortMark;
	EXPECT_EQ(bpf_map__update_elem((*s)->maps.meta_marks, &port, sizeof(port), &mark, sizeof(mark), BPF_ANY), 0)
		<< "meta_marks[" << port << "]";
	return Producer{std::move(*s)};
}

void run_table(uint32_t default_mark)
{
	auto p = load_producer(default_mark);
	ASSERT_TRUE(p);

	uint64_t packets = 0, bytes = 0, no_flow = 0, marked = 0;
	for (const auto &row : rows()) {
		SCOPED_TRACE(row.what);
		std::optional<uint32_t> mark;
		if (row.port_marked)
			mark = kPortMark;
		else if (default_mark)
			mark = default_mark;
		auto want = producer_meta(row.flow, mark);

		auto r = run_xdp(p->prog(), row.pkt);
		ASSERT_EQ(r.err, 0) << "test run";
		EXPECT_EQ(r.retval, XDP_PASS) << "verdict";
		EXPECT_EQ(r.data, row.pkt) << "frame unchanged: " << hex(r.data);
		ASSERT_EQ(r.meta.size(), sizeof(struct xdpctl_meta)) << "data_meta holds one struct";
		struct xdpctl_meta got {};
		std::memcpy(&got, r.meta.data(), sizeof(got));
		EXPECT_EQ(r.meta, meta_bytes(want)) << "data_meta bytes\n got " << describe(got) << "\nwant "
						    << describe(want);
		packets++;
		bytes += row.pkt.size();
		no_flow += !row.flow;
		marked += mark.has_value();
	}

	auto c = read_action_stats(p->skel->maps.xdpctl_stats);
	EXPECT_EQ(c[XDP_PASS].packets, packets) << "XDP_PASS packets";
	EXPECT_EQ(c[XDP_PASS].bytes, bytes) << "XDP_PASS bytes (frame, not metadata)";
	for (uint32_t a : {XDP_ABORTED, XDP_DROP, XDP_TX, XDP_REDIRECT})
		EXPECT_EQ(c[a].packets, 0u) << "no other verdict, action " << a;
	EXPECT_EQ(p->counter(XDPCTL_METACNT_NO_ROOM), 0u) << "meta_counters NO_ROOM";
	EXPECT_EQ(c[XDP_PASS].packets - p->counter(XDPCTL_METACNT_NO_ROOM), packets)
		<< "frames carrying our metadata (XDP_PASS - NO_ROOM)";
	EXPECT_EQ(p->counter(XDPCTL_METACNT_NO_FLOW), no_flow) << "meta_counters NO_FLOW";
	EXPECT_EQ(p->counter(XDPCTL_METACNT_MARKED), marked) << "meta_counters MARKED";
}

} // namespace

TEST(XdpMetaProducer, EveryFrameGetsTheDocumentedMetadata)
{
	run_table(0);
}

TEST(XdpMetaProducer, DefaultMarkForFramesWithoutPortMark)
{
	run_table(kDefaultMark);
}

// Metadata an earlier program left is not ours to move: the producer would not be right before
// the packet any more (and before 6.x kernels data_meta holds only 32 bytes). The frame passes
// with the metadata it came with, counted as NO_ROOM.
TEST(XdpMetaProducer, ExistingMetadataIsLeftAloneAndCounted)
{
	// with a default mark and for a frame without a flow too: such a frame is counted as NO_ROOM
	// and nothing else (found by tests/fuzz/fuzz_xdp_meta_producer.cpp: it was also counted as
	// NO_FLOW or MARKED, metadata it never carried)
	for (uint32_t default_mark : {0u, kDefaultMark}) {
		SCOPED_TRACE("default_mark " + std::to_string(default_mark));
		auto p = load_producer(default_mark);
		ASSERT_TRUE(p);
		Bytes meta_in{1, 2, 3, 4, 5, 6, 7, 8};
		auto pkt = Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, kMarkedPort).build();
		auto arp = Packet().eth(kMacBcast, kMacA).arp_request("10.0.0.1", "10.0.0.2", kMacA).build();
		for (const Bytes &frame : {pkt, arp}) {
			auto r = run_xdp(p->prog(), frame, {.meta = meta_in});
			ASSERT_EQ(r.err, 0) << "test run";
			EXPECT_EQ(r.retval, XDP_PASS) << "verdict";
			EXPECT_EQ(r.meta, meta_in) << "data_meta as it came: " << hex(r.meta);
			EXPECT_EQ(r.data, frame) << "frame unchanged";
		}
		EXPECT_EQ(p->counter(XDPCTL_METACNT_NO_ROOM), 2u) << "meta_counters NO_ROOM";
		EXPECT_EQ(p->counter(XDPCTL_METACNT_NO_FLOW), 0u) << "meta_counters NO_FLOW: nothing was computed";
		EXPECT_EQ(p->counter(XDPCTL_METACNT_MARKED), 0u) << "meta_counters MARKED: no frame carries a mark";
		auto c = read_action_stats(p->skel->maps.xdpctl_stats);
		EXPECT_EQ(c[XDP_PASS].packets, 2u) << "XDP_PASS packets";
		EXPECT_EQ(c[XDP_PASS].packets - p->counter(XDPCTL_METACNT_NO_ROOM), 0u)
			<< "frames carrying our metadata (XDP_PASS - NO_ROOM)";
	}
}

// Port 0 is reserved in UDP and TCP: its meta_marks slot is never used, a frame to port 0 gets the
// default mark (include/xdpctl/meta_progs.h; the fuzzer's model first read the slot as any other).
TEST(XdpMetaProducer, PortZeroNeverUsesItsSlot)
{
	for (uint32_t default_mark : {0u, kDefaultMark}) {
		SCOPED_TRACE("default_mark " + std::to_string(default_mark));
		auto p = load_producer(default_mark);
		ASSERT_TRUE(p);
		uint32_t zero = 0, mark = 0x55;
		ASSERT_EQ(bpf_map__update_elem(p->skel->maps.meta_marks, &zero, sizeof(zero), &mark, sizeof(mark), BPF_ANY), 0)
			<< "meta_marks[0]";
		auto pkt = Packet().eth(kMacB, kMacA).ipv6("fd00::1", "fd00::2").udp(1000, 0).build();
		auto r = run_xdp(p->prog(), pkt);
		ASSERT_EQ(r.err, 0) << "test run";
		std::optional<uint32_t> want;
		if (default_mark)
			want = default_mark;
		EXPECT_EQ(r.meta, meta_bytes(producer_meta(FlowTuple{"fd00::1", "fd00::2", 17, 1000, 0}, want)))
			<< "udp to port 0: " << hex(r.meta);
	}
}

// meta_marks is an array over every port: the last port has a slot, and a slot set back to 0
// means no mark again (an array has no delete).
TEST(XdpMetaProducer, PortMarksCoverEveryPortAndZeroMeansNone)
{
	auto p = load_producer(0);
	ASSERT_TRUE(p);
	uint32_t last = 65535, mark = 0x77;
	ASSERT_EQ(bpf_map__update_elem(p->skel->maps.meta_marks, &last, sizeof(last), &mark, sizeof(mark), BPF_ANY), 0)
		<< "meta_marks[65535]";
	uint32_t beyond = 65536;
	EXPECT_NE(bpf_map__update_elem(p->skel->maps.meta_marks, &beyond, sizeof(beyond), &mark, sizeof(mark), BPF_ANY), 0)
		<< "meta_marks has no slot past port 65535";
	auto pkt = Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 65535).build();
	FlowTuple flow{"10.0.0.1", "10.0.0.2", 17, 1000, 65535};

	auto r = run_xdp(p->prog(), pkt);
	ASSERT_EQ(r.err, 0) << "test run";
	EXPECT_EQ(r.meta, meta_bytes(producer_meta(flow, mark))) << "port 65535 marked: " << hex(r.meta);

	uint32_t none = 0;
	ASSERT_EQ(bpf_map__update_elem(p->skel->maps.meta_marks, &last, sizeof(last), &none, sizeof(none), BPF_ANY), 0)
		<< "meta_marks[65535] = 0";
	r = run_xdp(p->prog(), pkt);
	ASSERT_EQ(r.err, 0) << "test run";
	EXPECT_EQ(r.meta, meta_bytes(producer_meta(flow, std::nullopt))) << "port 65535 unmarked: " << hex(r.meta);
	EXPECT_EQ(p->counter(XDPCTL_METACNT_MARKED), 1u) << "meta_counters MARKED: the first frame only";
}

// The reference hash itself, pinned to values worked out by hand from the FNV-1a definition, so
// that a wrong reference cannot agree with a wrong program.
TEST(XdpMetaProducer, ReferenceHashMatchesFnv1aDefinition)
{
	EXPECT_EQ(fnv1a({}), 0x811c9dc5u) << "empty input: offset basis";
	EXPECT_EQ(fnv1a({'a'}), 0xe40c292cu) << "FNV-1a 32 of \"a\" (published test vector)";
	EXPECT_EQ(fnv1a({'f', 'o', 'o', 'b', 'a', 'r'}), 0xbf9cf968u) << "FNV-1a 32 of \"foobar\" (published test vector)";
	Bytes v4{10, 0, 0, 1, 10, 0, 0, 2, 17, 0x03, 0xe8, 0x07, 0xd0};
	EXPECT_EQ(flow_hash({"10.0.0.1", "10.0.0.2", 17, 1000, 2000}), fnv1a(v4)) << "ipv4 tuple layout";
	EXPECT_NE(flow_hash({"10.0.0.1", "10.0.0.2", 17, 1000, 2000}), flow_hash({"10.0.0.2", "10.0.0.1", 17, 2000, 1000}))
		<< "directional: the reply is another flow";
}

