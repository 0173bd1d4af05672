// xdp_broadcast through BPF_PROG_TEST_RUN (no live frames: verdict and frame come back, nothing
// is sent; which port gets a copy is tests/live_broadcast_test.cpp's job). Broadcast takes every
// frame, malformed or not, whatever the devmap holds; multicast redirects a frame whose
// destination MAC is in a group and gives every other frame miss_action. Bytes are never touched.
#include <gtest/gtest.h>

#include <functional>

#include "netns.hpp"
#include "prog_run.hpp"
#include "xdp_broadcast.skel.h"
#include "xdpctl/broadcast.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;

namespace {

constexpr Mac kGroupMac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};   // in group 1
constexpr Mac kBadGroupMac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x02}; // mapped to a group that does not exist
constexpr Mac kUnknownMac = kMacB;                                // in no group

const char *action_name(uint32_t a)
{
	static const char *names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"};
	return a < 5 ? names[a] : "?";
}

// Every kind of frame a table covers, addressed to dst.
struct Frame {
	std::string what;
	Bytes pkt;
};

std::vector<Frame> frames_to(const Mac &dst)
{
	return {
		{"udp over ipv4", Packet().eth(dst, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(18).build()},
		{"arp request", Packet().eth(dst, kMacA).arp_request("10.0.0.1", "10.0.0.2", kMacA).build()},
		{"runt: Ethernet header only", truncated(Packet().eth(dst, kMacA).payload(46).build(), 14)},
		{"truncated ipv4 header", truncated(Packet().eth(dst, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), 20)},
		{"wrong ethertype", Packet().eth(dst, kMacA, 0x1234).payload(50).build()},
		{"vlan in vlan", Packet().eth(dst, kMacA).vlan(10, 0x88a8).vlan(20).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build()},
		{"maximum-size frame (1514)", Packet().eth(dst, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).pad_to(1514).build()},
	};
}

struct Config {
	uint32_t exclude_ingress = 1;
	uint32_t miss_action = XDP_PASS;
};

xdpctl::Result<xdpctl::Skel<xdp_broadcast>> load(Config c)
{
	auto s = xdpctl::open_skel<xdp_broadcast>("xdp_broadcast");
	if (!s)
		return s;
	(*s)->rodata->exclude_ingress = c.exclude_ingress;
	(*s)->rodata->miss_action = c.miss_action;
	if (auto st = xdpctl::load_skel(*s, "xdp_broadcast"); !st)
		return std::unexpected(st.error());
	return s;
}

// A port of a group devmap, keyed as the loader keys it (slot in a DEVMAP, ifindex in a hash).
int add_port(bpf_map *m, uint32_t ifindex)
{
	int key = group_add_port(m, ifindex);
	return key < 0 ? key : 0;
}

int set_group(bpf_map *macs, const Mac &mac, uint32_t group)
{
	struct xdpctl_mac key {};
	std::copy(mac.begin(), mac.end(), key.addr);
	return bpf_map__update_elem(macs, &key, sizeof(key), &group, sizeof(group), BPF_ANY);
}

class XdpBroadcastRun : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		in_ = add_veth("in0", "in0p");
		out_ = add_veth("out0", "out0p");
		ASSERT_GT(out_.ifindex, 0) << "two veth pairs";
	}
	XdpRunOpts from_in() const { return {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex)}; }
	VethPair in_, out_;
};

struct BroadcastFlavour {
	const char *name;
	std::function<bpf_program *(xdp_broadcast *)> prog;
	std::function<bpf_map *(xdp_broadcast *)> map;
};

const BroadcastFlavour kBroadcast[] = {
	{"DEVMAP", [](xdp_broadcast *s) { return s->progs.xdp_broadcast_devmap; },
	 [](xdp_broadcast *s) { return s->maps.bcast_ports; }},
	{"DEVMAP_HASH", [](xdp_broadcast *s) { return s->progs.xdp_broadcast_devmap_hash; },
	 [](xdp_broadcast *s) { return s->maps.bcast_ports_hash; }},
};

} // namespace

// BPF_F_BROADCAST ignores the key and never misses: every frame is XDP_REDIRECT, with or without
// BPF_F_EXCLUDE_INGRESS, with ports in the devmap or none (the frame is then consumed).
TEST_F(XdpBroadcastRun, EveryFrameIsRedirectedUnchanged)
{
	for (const auto &f : kBroadcast) {
		for (uint32_t exclude : {0u, 1u}) {
			for (bool empty : {true, false}) {
				SCOPED_TRACE(std::string(f.name) + ", exclude_ingress " + std::to_string(exclude) +
					     (empty ? ", empty devmap" : ", ports in0 and out0"));
				auto skel = load({.exclude_ingress = exclude});
				ASSERT_TRUE(skel) << skel.error().message();
				xdp_broadcast *s = skel->get();
				if (!empty) {
					ASSERT_EQ(add_port(f.map(s), in_.ifindex), 0) << "port in0";
					ASSERT_EQ(add_port(f.map(s), out_.ifindex), 0) << "port out0";
				}
				uint64_t n = 0, bytes = 0;
				for (const auto &row : frames_to(kMacBcast)) {
					SCOPED_TRACE(row.what);
					auto r = run_xdp(f.prog(s), row.pkt, from_in());
					ASSERT_EQ(r.err, 0) << "test run";
					EXPECT_EQ(r.retval, XDP_REDIRECT) << "verdict";
					EXPECT_EQ(r.data, row.pkt) << "bytes untouched: " << hex(r.data);
					n++;
					bytes += row.pkt.size();
				}
				auto c = read_action_stats(s->maps.xdpctl_stats);
				EXPECT_EQ(c[XDP_REDIRECT].packets, n) << "one XDP_REDIRECT per frame";
				EXPECT_EQ(c[XDP_REDIRECT].bytes, bytes) << "XDP_REDIRECT bytes";
				for (uint32_t a = XDP_ABORTED; a < XDP_REDIRECT; a++)
					EXPECT_EQ(c[a].packets, 0u) << "nothing under " << action_name(a);
			}
		}
	}
}

// The multicast table, for each miss action: a MAC in a group is redirected whatever the frame
// holds; a MAC in no group, or mapped to a group index that does not exist, gets miss_action.
TEST_F(XdpBroadcastRun, MulticastRedirectsGroupMacsOthersGetMissAction)
{
	for (uint32_t miss : {XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX}) {
		SCOPED_TRACE(std::string("miss_action ") + action_name(miss));
		auto skel = load({.miss_action = miss});
		ASSERT_TRUE(skel) << skel.error().message();
		xdp_broadcast *s = skel->get();
		ASSERT_EQ(add_port(s->maps.mcast_group1, out_.ifindex), 0) << "out0 in group 1";
		ASSERT_EQ(set_group(s->maps.mcast_macs, kGroupMac, 1), 0) << "group MAC -> 1";
		ASSERT_EQ(set_group(s->maps.mcast_macs, kBadGroupMac, XDPCTL_MCAST_GROUPS), 0) << "MAC -> no such group";

		struct Row {
			std::string what;
			Bytes pkt;
			uint32_t verdict;
		};
		std::vector<Row> rows;
		for (auto &f : frames_to(kGroupMac))
			rows.push_back({"group MAC, " + f.what, f.pkt, XDP_REDIRECT});
		for (auto &f : frames_to(kUnknownMac))
			rows.push_back({"MAC in no group, " + f.what, f.pkt, miss});
		for (auto &f : frames_to(kBadGroupMac))
			rows.push_back({"MAC of a group out of range, " + f.what, f.pkt, miss});

		ActionCounters want{};
		for (const auto &row : rows) {
			SCOPED_TRACE(row.what);
			auto r = run_xdp(s->progs.xdp_multicast, row.pkt, from_in());
			ASSERT_EQ(r.err, 0) << "test run";
			EXPECT_EQ(r.retval, row.verdict) << "verdict";
			EXPECT_EQ(r.data, row.pkt) << "bytes untouched: " << hex(r.data);
			want[row.verdict].packets++;
			want[row.verdict].bytes += row.pkt.size();
		}
		auto c = read_action_stats(s->maps.xdpctl_stats);
		for (uint32_t a = XDP_ABORTED; a <= XDP_REDIRECT; a++) {
			EXPECT_EQ(c[a].packets, want[a].packets) << action_name(a) << " packets";
			EXPECT_EQ(c[a].bytes, want[a].bytes) << action_name(a) << " bytes";
		}
	}
}

// Moving a MAC between groups or removing it takes effect on the next frame, no reload.
TEST_F(XdpBroadcastRun, MulticastGroupChangesTakeEffectOnTheNextFrame)
{
	auto skel = load({.miss_action = XDP_DROP});
	ASSERT_TRUE(skel) << skel.error().message();
	xdp_broadcast *s = skel->get();
	auto pkt = Packet().eth(kGroupMac, kMacA).payload(50).build();
	auto verdict = [&] { return run_xdp(s->progs.xdp_multicast, pkt, from_in()).retval; };

	EXPECT_EQ(verdict(), XDP_DROP) << "MAC in no group yet";
	ASSERT_EQ(set_group(s->maps.mcast_macs, kGroupMac, 3), 0) << "MAC -> group 3";
	EXPECT_EQ(verdict(), XDP_REDIRECT) << "in group 3 (an empty group still redirects)";
	struct xdpctl_mac key {};
	std::copy(kGroupMac.begin(), kGroupMac.end(), key.addr);
	ASSERT_EQ(bpf_map__delete_elem(s->maps.mcast_macs, &key, sizeof(key), 0), 0) << "remove MAC";
	EXPECT_EQ(verdict(), XDP_DROP) << "removed: miss again";
}

// The contract with the loader (include/xdpctl/broadcast.h): map types and sizes, and that group
// i of mcast_groups is the devmap the skeleton calls mcast_group<i>.
TEST(XdpBroadcastMaps, ShapesMatchTheHeader)
{
	auto skel = xdpctl::open_and_load_skel<xdp_broadcast>("xdp_broadcast");
	ASSERT_TRUE(skel) << skel.error().message();
	xdp_broadcast *s = skel->get();

	EXPECT_EQ(bpf_map__type(s->maps.bcast_ports), BPF_MAP_TYPE_DEVMAP) << "bcast_ports type";
	EXPECT_EQ(bpf_map__type(s->maps.bcast_ports_hash), BPF_MAP_TYPE_DEVMAP_HASH) << "bcast_ports_hash type";
	// a group devmap starts small and sits in slot 0 of its one-slot ARRAY_OF_MAPS
	std::pair<bpf_map *, bpf_map *> bcast[] = {{s->maps.bcast_group, s->maps.bcast_ports},
						   {s->maps.bcast_group_hash, s->maps.bcast_ports_hash}};
	for (auto [outer, m] : bcast) {
		EXPECT_EQ(bpf_map__value_size(m), sizeof(struct bpf_devmap_val)) << bpf_map__name(m) << " value";
		EXPECT_EQ(bpf_map__max_entries(m), XDPCTL_GROUP_MIN_ENTRIES) << bpf_map__name(m) << " size at load";
		EXPECT_EQ(bpf_map__type(outer), BPF_MAP_TYPE_ARRAY_OF_MAPS) << bpf_map__name(outer) << " type";
		EXPECT_EQ(bpf_map__max_entries(outer), 1u) << bpf_map__name(outer) << " has one slot";
		uint32_t zero = 0, inner_id = 0;
		ASSERT_EQ(bpf_map__lookup_elem(outer, &zero, sizeof(zero), &inner_id, sizeof(inner_id), 0), 0)
			<< bpf_map__name(outer) << "[0] set at load";
		struct bpf_map_info info {};
		uint32_t len = sizeof(info);
		ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len), 0) << "devmap info";
		EXPECT_EQ(inner_id, info.id) << bpf_map__name(outer) << "[0] is " << bpf_map__name(m);
	}
	EXPECT_EQ(bpf_map__type(s->maps.mcast_macs), BPF_MAP_TYPE_HASH) << "mcast_macs type";
	EXPECT_EQ(bpf_map__key_size(s->maps.mcast_macs), sizeof(struct xdpctl_mac)) << "mcast_macs key: 6-byte MAC";
	EXPECT_EQ(bpf_map__value_size(s->maps.mcast_macs), sizeof(uint32_t)) << "mcast_macs value: group";
	EXPECT_EQ(bpf_map__type(s->maps.mcast_groups), BPF_MAP_TYPE_ARRAY_OF_MAPS) << "mcast_groups type";
	EXPECT_EQ(bpf_map__max_entries(s->maps.mcast_groups), XDPCTL_MCAST_GROUPS) << "number of groups";

	bpf_map *groups[] = {s->maps.mcast_group0, s->maps.mcast_group1, s->maps.mcast_group2, s->maps.mcast_group3};
	static_assert(std::size(groups) == XDPCTL_MCAST_GROUPS);
	for (uint32_t g = 0; g < XDPCTL_MCAST_GROUPS; g++) {
		EXPECT_EQ(bpf_map__type(groups[g]), BPF_MAP_TYPE_DEVMAP_HASH) << "group " << g << " type";
		EXPECT_EQ(bpf_map__value_size(groups[g]), sizeof(struct bpf_devmap_val)) << "group " << g << " value";
		EXPECT_EQ(bpf_map__max_entries(groups[g]), XDPCTL_GROUP_MIN_ENTRIES) << "group " << g << " size at load";
		uint32_t inner_id = 0;
		ASSERT_EQ(bpf_map__lookup_elem(s->maps.mcast_groups, &g, sizeof(g), &inner_id, sizeof(inner_id), 0), 0)
			<< "mcast_groups[" << g << "] set at load";
		struct bpf_map_info info {};
		uint32_t len = sizeof(info);
		ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(groups[g]), &info, &len), 0) << "group map info";
		EXPECT_EQ(inner_id, info.id) << "mcast_groups[" << g << "] is mcast_group" << g;
	}
	EXPECT_EQ(s->rodata->exclude_ingress, 1u) << "exclude_ingress defaults to on";
	EXPECT_EQ(s->rodata->miss_action, static_cast<uint32_t>(XDP_PASS)) << "miss_action defaults to XDP_PASS";
}
