// Group devmaps sized to the group (include/xdpctl/broadcast.h): xdpctl::group_add/group_del on
// xdp_broadcast's own maps grow and shrink a group's devmap by swapping it in its map-of-maps
// slot, and after every step a live frame (BPF_F_TEST_XDP_LIVE_FRAMES, so the kernel really
// clones and sends it) reaches exactly the group's ports, one copy each. For the DEVMAP group
// (dense slot keys), the DEVMAP_HASH group and a multicast group.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "kernel.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "xdp_attach.hpp"
#include "xdp_broadcast.skel.h"
#include "xdpctl/broadcast.h"
#include "xdpctl/devmap.hpp"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using namespace std::chrono_literals;

namespace {

constexpr int kPorts = 20;
constexpr Mac kGroupMac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

struct Flavour {
	const char *name;
	std::function<bpf_program *(xdp_broadcast *)> prog;
	std::function<bpf_map *(xdp_broadcast *)> outer;
	uint32_t slot;
	bool slot_keys;
};

const Flavour kFlavours[] = {
	{"broadcast, DEVMAP", [](xdp_broadcast *s) { return s->progs.xdp_broadcast_devmap; },
	 [](xdp_broadcast *s) { return s->maps.bcast_group; }, 0, true},
	{"broadcast, DEVMAP_HASH", [](xdp_broadcast *s) { return s->progs.xdp_broadcast_devmap_hash; },
	 [](xdp_broadcast *s) { return s->maps.bcast_group_hash; }, 0, false},
	{"multicast group 1", [](xdp_broadcast *s) { return s->progs.xdp_multicast; },
	 [](xdp_broadcast *s) { return s->maps.mcast_groups; }, 1, false},
};

// One step of a group's life and what it must look like afterwards.
struct Step {
	const char *what;
	std::vector<int> add, del; // port numbers p<N>
	uint32_t size;             // the devmap's max_entries after the step
	bool swapped;              // a new devmap went into the slot
	std::set<int> members;
};

const Step kSteps[] = {
	{"4 ports fit the devmap of load", {0, 1, 2, 3}, {}, XDPCTL_GROUP_MIN_ENTRIES, false, {0, 1, 2, 3}},
	{"4 more fill it", {4, 5, 6, 7}, {}, 8, false, {0, 1, 2, 3, 4, 5, 6, 7}},
	{"the 9th port grows it to 16", {8}, {}, 16, true, {0, 1, 2, 3, 4, 5, 6, 7, 8}},
	{"11 more grow it to 32", {9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, {}, 32, true,
	 {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
	{"10 left: more than a quarter of 32 would need, stays", {}, {10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, 32, false,
	 {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	{"3 left: shrinks to 8", {}, {3, 4, 5, 6, 7, 8, 9}, 8, true, {0, 1, 2}},
	{"a removed port comes back", {5}, {}, 8, false, {0, 1, 2, 5}},
	{"a port from the middle leaves", {}, {1}, 8, false, {0, 2, 5}},
	{"the freed slot is taken again", {19}, {}, 8, false, {0, 2, 5, 19}},
};

// xdp_broadcast with kGroupMac in multicast group 1 (the multicast flavour's group).
xdpctl::Result<xdpctl::Skel<xdp_broadcast>> load()
{
	auto skel = xdpctl::open_and_load_skel<xdp_broadcast>("xdp_broadcast");
	if (!skel)
		return skel;
	struct xdpctl_mac mac {};
	std::copy(kGroupMac.begin(), kGroupMac.end(), mac.addr);
	uint32_t group = 1;
	if (int err = bpf_map__update_elem((*skel)->maps.mcast_macs, &mac, sizeof(mac), &group, sizeof(group), BPF_ANY))
		return std::unexpected(xdpctl::Error{-err, "bpf_map_update_elem", "mcast_macs", {}});
	return skel;
}

std::string port(int n)
{
	return "p" + std::to_string(n);
}

class BroadcastGroup : public NetnsTest {
protected:
	void SetUp() override
	{
		XT_REQUIRE_KERNEL(6, 3, "live-frame broadcast (before 6.3 a clone of a live frame is shifted by "
					"sizeof(struct xdp_frame): kernel commit 6c20822fada1 \"bpf, test_run: fix &xdp_frame "
					"misplacement for LIVE_FRAMES\"; see live_broadcast_test)");
		NetnsTest::SetUp();
		// every pair in one `ip -b` (kPorts + 1 pairs: a process each would cost seconds in the lane)
		std::vector<std::pair<std::string, std::string>> pairs = {{"in0", "in0p"}};
		for (int i = 0; i < kPorts; i++)
			pairs.emplace_back(port(i), port(i) + "q");
		auto made = add_veths(pairs);
		ASSERT_EQ(made.size(), pairs.size());
		in_ = made[0];
		ASSERT_GT(in_.ifindex, 0) << "veth in0";
		for (int i = 0; i < kPorts; i++) {
			const auto &v = made[static_cast<size_t>(i) + 1];
			ASSERT_GT(v.ifindex, 0) << "veth " << port(i);
			auto l = attach_xdp_pass(v.peer_ifindex);
			ASSERT_TRUE(l) << "xdp_pass on " << v.peer << ": " << l.error().message();
			ready_.push_back(std::move(*l));
			ports_.push_back(v);
		}
	}

	std::vector<uint32_t> ifindexes(const std::vector<int> &ns) const
	{
		std::vector<uint32_t> out;
		for (int n : ns)
			out.push_back(static_cast<uint32_t>(ports_[n].ifindex));
		return out;
	}

	// One live frame into in0: each member's peer gets exactly one copy, every other port none.
	void expect_delivery(bpf_program *prog, const std::set<int> &members)
	{
		auto pkt = Packet().eth(kGroupMac, kMacA, kEthTest).payload(46).build();
		std::vector<std::unique_ptr<Capture>> caps;
		for (int i = 0; i < kPorts; i++)
			caps.push_back(std::make_unique<Capture>(port(i) + "q", kEthTest));
		auto r = run_xdp(prog, pkt, {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex), .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";
		bool waited = false;
		for (int i = 0; i < kPorts; i++) {
			if (!members.contains(i))
				continue;
			// delivery happens in the run's softirq: once one capture waited, the others need not
			auto got = caps[i]->drain(waited ? 20ms : 200ms);
			waited = true;
			ASSERT_EQ(got.size(), 1u) << "copies at member " << port(i);
			EXPECT_EQ(got[0], pkt) << "the copy at " << port(i) << " is the frame";
		}
		for (int i = 0; i < kPorts; i++) {
			if (members.contains(i))
				continue;
			EXPECT_TRUE(caps[i]->drain(waited ? 20ms : 200ms).empty()) << "no copy at non-member " << port(i);
		}
	}

	VethPair in_;
	std::vector<VethPair> ports_;
	std::vector<XdpLink> ready_;
};

// The group devmap's entries: each member once, keyed as the flavour keys it.
void expect_entries(int devmap_fd, const Flavour &f, const std::vector<VethPair> &ports, const std::set<int> &members,
		    bool compact)
{
	std::map<uint32_t, uint32_t> entries; // key -> ifindex
	uint32_t key = 0, next = 0;
	uint32_t *prev = nullptr;
	while (bpf_map_get_next_key(devmap_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		struct bpf_devmap_val v {};
		if (bpf_map_lookup_elem(devmap_fd, &key, &v) == 0)
			entries[key] = v.ifindex;
	}
	ASSERT_EQ(entries.size(), members.size()) << "one entry per member";
	for (int m : members) {
		uint32_t idx = static_cast<uint32_t>(ports[m].ifindex);
		auto it = std::find_if(entries.begin(), entries.end(), [&](const auto &e) { return e.second == idx; });
		ASSERT_NE(it, entries.end()) << port(m) << " has an entry";
		if (!f.slot_keys) {
			EXPECT_EQ(it->first, idx) << port(m) << " keyed by its ifindex";
		}
	}
	if (f.slot_keys && compact) {
		uint32_t slot = 0;
		for (const auto &[k, _] : entries)
			EXPECT_EQ(k, slot++) << "a swapped-in DEVMAP holds its ports in slots 0..n-1";
	}
}

} // namespace

// The table, for each flavour: after every step the slot holds a devmap of the expected size
// with one entry per member, and a live frame reaches exactly the members.
TEST_F(BroadcastGroup, EveryMemberGetsTheFrameAfterEachGrowAndShrink)
{
	for (const auto &f : kFlavours) {
		SCOPED_TRACE(f.name);
		auto skel = load();
		ASSERT_TRUE(skel) << skel.error().message();
		xdp_broadcast *s = skel->get();
		xdpctl::DevmapGroup g{bpf_map__fd(f.outer(s)), f.slot, f.name};
		for (const auto &st : kSteps) {
			SCOPED_TRACE(st.what);
			xdpctl::Result<xdpctl::GroupChange> ch = std::unexpected(xdpctl::Error{EINVAL, "step", "", ""});
			if (!st.add.empty()) {
				std::vector<xdpctl::GroupPort> ps;
				for (uint32_t idx : ifindexes(st.add))
					ps.push_back({idx, -1});
				ch = xdpctl::group_add(g, ps);
			} else {
				ch = xdpctl::group_del(g, ifindexes(st.del));
			}
			ASSERT_TRUE(ch) << ch.error().message();
			EXPECT_EQ(ch->swapped, st.swapped) << "devmap swapped";
			EXPECT_EQ(ch->max_entries, st.size) << "devmap size";
			EXPECT_EQ(ch->writes.size(), st.add.size() + st.del.size()) << "one write per port";
			auto cur = xdpctl::group_devmap(g);
			ASSERT_TRUE(cur) << cur.error().message();
			struct bpf_map_info info {};
			uint32_t len = sizeof(info);
			ASSERT_EQ(bpf_obj_get_info_by_fd(cur->get(), &info, &len), 0) << "devmap info";
			EXPECT_EQ(info.max_entries, st.size) << "the slot holds the devmap of the new size";
			expect_entries(cur->get(), f, ports_, st.members, st.swapped);
			expect_delivery(f.prog(s), st.members);
		}
	}
}

// All or nothing: a grow undone (its Txn not committed) puts the old devmap back in the slot,
// and a group past XDPCTL_DEVMAP_MAX_ENTRIES is refused with nothing changed.
TEST_F(BroadcastGroup, AnUndoneGrowPutsTheOldDevmapBack)
{
	for (const auto &f : kFlavours) {
		SCOPED_TRACE(f.name);
		auto skel = load();
		ASSERT_TRUE(skel) << skel.error().message();
		xdp_broadcast *s = skel->get();
		xdpctl::DevmapGroup g{bpf_map__fd(f.outer(s)), f.slot, f.name};
		std::vector<xdpctl::GroupPort> first, more;
		for (int i = 0; i < kPorts; i++)
			(i < 4 ? first : more).push_back({static_cast<uint32_t>(ports_[i].ifindex), -1});
		ASSERT_TRUE(xdpctl::group_add(g, first)) << "4 ports";
		auto before = xdpctl::group_devmap(g);
		ASSERT_TRUE(before);
		{
			xdpctl::Txn txn;
			auto ch = xdpctl::group_add(g, more, 8, &txn);
			ASSERT_TRUE(ch) << ch.error().message();
			ASSERT_TRUE(ch->swapped) << "20 ports: grown";
		} // not committed
		auto after = xdpctl::group_devmap(g);
		ASSERT_TRUE(after);
		struct bpf_map_info a {}, b {};
		uint32_t len = sizeof(a);
		ASSERT_EQ(bpf_obj_get_info_by_fd(before->get(), &b, &len), 0);
		len = sizeof(a);
		ASSERT_EQ(bpf_obj_get_info_by_fd(after->get(), &a, &len), 0);
		EXPECT_EQ(a.id, b.id) << "the old devmap is back in the slot";
		expect_entries(after->get(), f, ports_, {0, 1, 2, 3}, false);

		std::vector<xdpctl::GroupPort> too_many;
		for (uint32_t k = 0; k <= XDPCTL_DEVMAP_MAX_ENTRIES; k++)
			too_many.push_back({static_cast<uint32_t>(ports_[k % kPorts].ifindex) + 1000 * (k / kPorts + 1), -1});
		auto big = xdpctl::group_add(g, too_many);
		ASSERT_FALSE(big) << "a group larger than XDPCTL_DEVMAP_MAX_ENTRIES";
		EXPECT_EQ(big.error().err, E2BIG) << big.error().message();
		auto still = xdpctl::group_devmap(g);
		ASSERT_TRUE(still);
		len = sizeof(a);
		ASSERT_EQ(bpf_obj_get_info_by_fd(still->get(), &a, &len), 0);
		EXPECT_EQ(a.id, b.id) << "refused: the slot still holds the old devmap";
		expect_delivery(f.prog(s), {0, 1, 2, 3});
	}
}
