// get_next_key over 1,000 veth devices (500 pairs): every netdev of the namespace exactly once,
// in ascending ifindex order; a key no netdev has starts the walk over from the first ifindex (as
// the kernel's hash map does: ctlmap.hpp); and a walk during which devices vanish and appear:
// from the vanished current key it starts over, and a walker that skips the keys it handled
// already (xdpctl ctl's) gets every device once, never one deleted before it was reached, and
// the devices created meanwhile (their ifindexes are larger).
#include <gtest/gtest.h>
#include <net/if.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kmod/ctl_backend.hpp"
#include "netns.hpp"
#include "xdpctl/ctlmap.hpp"

using namespace xt;
using namespace xdpctl;

// Parameterized over the backend (kmod/ctl_backend.hpp).
class CtlIter : public NetnsTest, public ::testing::WithParamInterface<ctl::BackendChoice> {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		XT_REQUIRE_CTL_BACKEND(GetParam());
	}
	// Creates `pairs` veth pairs named <prefix>a<i> / <prefix>b<i> with one `ip -b` batch.
	void add_veths(const std::string &prefix, int pairs)
	{
		std::string path = "/tmp/xdpctl-ctliter-" + std::to_string(getpid()) + ".batch";
		{
			std::ofstream b(path);
			for (int i = 0; i < pairs; i++)
				b << "link add " << prefix << "a" << i << " type veth peer name " << prefix << "b" << i << "\n";
		}
		must("ip -b " + path);
		std::remove(path.c_str());
	}

	// The namespace's ifindexes as iproute2 lists them.
	static std::set<uint32_t> ip_ifindexes()
	{
		std::string out;
		sh("ip -j link show", &out);
		std::set<uint32_t> s;
		for (auto &l : nlohmann::json::parse(out))
			s.insert(l["ifindex"].get<uint32_t>());
		return s;
	}
};

TEST_P(CtlIter, ThousandVethsEachOnceInAscendingOrder)
{
	add_veths("it", 500);
	auto expected = ip_ifindexes();
	ASSERT_EQ(expected.size(), 1001u + module_netdevs()) << "lo + 1,000 veth devices (+ the module's control netdevs)";

	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	std::vector<uint32_t> walked;
	uint32_t key = 0, next = 0;
	const uint32_t *cur = nullptr;
	for (;;) {
		auto st = map->get_next_key(cur, &next);
		if (!st) {
			EXPECT_EQ(st.error().err, ENOENT) << "the walk ends with ENOENT: " << st.error().message();
			break;
		}
		walked.push_back(next);
		key = next;
		cur = &key;
		ASSERT_LE(walked.size(), 2000u) << "the walk ends";
	}
	EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end())) << "ascending ifindex order";
	EXPECT_EQ(std::adjacent_find(walked.begin(), walked.end()), walked.end()) << "no ifindex twice";
	EXPECT_EQ(std::set<uint32_t>(walked.begin(), walked.end()), expected) << "every netdev, as ip link lists them";

	// the walk as the proposal's example 1 does it: lookup of each key succeeds
	size_t looked_up = 0;
	for (uint32_t k : walked) {
		auto v = map->lookup_as<struct bpf_ctrl_xdp_stats>(k);
		ASSERT_TRUE(v) << "lookup of ifindex " << k << ": " << v.error().message();
		ASSERT_EQ(v->ifindex, k) << "the value of ifindex " << k << " is that device's";
		looked_up++;
	}
	EXPECT_EQ(looked_up, expected.size()) << "every key looked up";
}

// A key no netdev has: a deleted veth's ifindex (in the middle of a walk, and its peer's), ifindexes
// never used, 0; each gives the first ifindex, as no key does, and the walk from there lists the
// devices there are now. Only the largest ifindex ends a walk (ENOENT).
TEST_P(CtlIter, GetNextKeyOfAMissingKeyStartsOver)
{
	add_veths("ms", 2);
	const auto all = ip_ifindexes();
	ASSERT_EQ(all.size(), 5u + module_netdevs()) << "lo + 4 veth devices (+ the module's control netdevs)";
	const uint32_t first = *all.begin();
	const uint32_t gone = if_nametoindex("msa0"), gone_peer = if_nametoindex("msb0");
	ASSERT_NE(gone, 0u) << "msa0";
	ASSERT_NE(gone_peer, 0u) << "msb0";
	ASSERT_LT(first, gone) << "lo comes before the veths";

	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	uint32_t key = 0, next = 0;
	ASSERT_TRUE(map->get_next_key(nullptr, &next)) << "get_next_key from no key";
	EXPECT_EQ(next, first) << "no key: the first ifindex";

	// walk to msa0, then delete it (its peer msb0 goes with it)
	key = next;
	while (key != gone) {
		auto st = map->get_next_key(&key, &next);
		ASSERT_TRUE(st) << "walking to msa0 (" << gone << "): " << st.error().message();
		ASSERT_GT(next, key) << "ascending";
		key = next;
	}
	must("ip link del msa0");
	ASSERT_EQ(if_nametoindex("msa0"), 0u) << "msa0 deleted";
	ASSERT_EQ(if_nametoindex("msb0"), 0u) << "msb0 deleted with it";
	for (uint32_t k : {gone, gone_peer}) {
		next = 0;
		auto st = map->get_next_key(&k, &next);
		ASSERT_TRUE(st) << "get_next_key from deleted ifindex " << k << ": " << st.error().message();
		EXPECT_EQ(next, first) << "deleted ifindex " << k << " starts over: the first ifindex, not the next larger";
	}

	// from the restart: every device there is now, once, ascending, then ENOENT
	std::set<uint32_t> now = all;
	now.erase(gone);
	now.erase(gone_peer);
	std::vector<uint32_t> rest{next};
	for (key = next;; key = next) {
		auto st = map->get_next_key(&key, &next);
		if (!st) {
			EXPECT_EQ(st.error().err, ENOENT) << "the walk ends with ENOENT: " << st.error().message();
			break;
		}
		rest.push_back(next);
		ASSERT_LE(rest.size(), 2 * all.size()) << "the walk ends";
	}
	EXPECT_EQ(rest, std::vector<uint32_t>(now.begin(), now.end())) << "the walk after the restart: the devices of now";

	// the largest ifindex ends a walk; keys no netdev ever had (outside a walk now) start over
	const uint32_t last = *now.rbegin();
	auto end = map->get_next_key(&last, &next);
	ASSERT_FALSE(end) << "nothing after the largest ifindex " << last << ", got " << next;
	EXPECT_EQ(end.error().err, ENOENT) << end.error().message();
	for (uint32_t k : {last + 1000, 1u << 30, 0xffffffffu, 0u}) {
		next = 0;
		auto st = map->get_next_key(&k, &next);
		ASSERT_TRUE(st) << "get_next_key from ifindex " << k << " (never used): " << st.error().message();
		EXPECT_EQ(next, first) << "ifindex " << k << " that no netdev has starts over: the first ifindex";
	}
}

// bpftool map dump walks as `walked` below does (prev_key = the key it got, ENOENT ends it): it
// sees the devices up to the deleted one twice. xdpctl ctl's walker (cli/ctl.cpp for_each_entry)
// makes the same calls and skips keys not above the last it handled: `resumed` below.
TEST_P(CtlIter, DevicesVanishingAndAppearingDuringTheWalk)
{
	add_veths("vw", 100);
	auto initial = ip_ifindexes();
	ASSERT_EQ(initial.size(), 201u + module_netdevs()) << "lo + 200 veth devices (+ the module's control netdevs)";

	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	std::vector<uint32_t> walked;
	std::set<uint32_t> deleted_unvisited, created, final_set;
	uint32_t key = 0, next = 0, vanished = 0;
	const uint32_t *cur = nullptr;
	bool changed = false;
	for (;;) {
		auto st = map->get_next_key(cur, &next);
		if (!st) {
			EXPECT_EQ(st.error().err, ENOENT) << st.error().message();
			break;
		}
		walked.push_back(next);
		ASSERT_LE(walked.size(), 2000u) << "the walk ends (one restart: at most twice the devices)";
		key = next;
		cur = &key;
		if (walked.size() == 50 && !changed) {
			changed = true;
			// the current key vanishes (with its peer), and so does a pair not reached yet
			char name[IF_NAMESIZE] = {};
			ASSERT_NE(if_indextoname(key, name), nullptr) << "name of the current key";
			auto before = ip_ifindexes();
			must(std::string("ip link del ") + name);
			must("ip link del vwa90");
			auto after = ip_ifindexes();
			for (uint32_t i : before)
				if (!after.count(i) && i > key)
					deleted_unvisited.insert(i);
			ASSERT_GE(deleted_unvisited.size(), 2u) << "vwa90/vwb90 were not reached yet";
			vanished = key;
			// a vanished key starts over: the first ifindex, as no key
			uint32_t probe = 0;
			ASSERT_TRUE(map->get_next_key(&key, &probe)) << "get_next_key from a vanished key";
			EXPECT_EQ(probe, *after.begin()) << "the first ifindex, not the next larger";
			add_veths("nw", 3);
			final_set = ip_ifindexes();
			for (uint32_t i : final_set)
				if (!after.count(i))
					created.insert(i);
			ASSERT_EQ(created.size(), 6u) << "three new pairs";
		}
	}
	ASSERT_TRUE(changed) << "the walk reached 50 keys";
	ASSERT_GT(walked.size(), 50u) << "the walk went on after the change";

	// the raw walk (bpftool's): 50 keys ascending, then from the first ifindex again every device
	// there is now, ascending; nothing else
	std::vector<uint32_t> before_restart(walked.begin(), walked.begin() + 50);
	std::vector<uint32_t> after_restart(walked.begin() + 50, walked.end());
	EXPECT_TRUE(std::adjacent_find(before_restart.begin(), before_restart.end(), std::greater_equal<>()) ==
		    before_restart.end())
		<< "strictly ascending up to the vanished key";
	EXPECT_EQ(after_restart, std::vector<uint32_t>(final_set.begin(), final_set.end()))
		<< "from the vanished key " << vanished << " the walk starts over: every device of now, once, ascending";

	// the walker that skips what it handled (xdpctl ctl's): every device once, ascending
	std::vector<uint32_t> resumed;
	for (uint32_t k : walked)
		if (resumed.empty() || k > resumed.back())
			resumed.push_back(k);
	std::vector<uint32_t> expect_resumed = before_restart;
	for (uint32_t i : final_set)
		if (i > vanished)
			expect_resumed.push_back(i);
	EXPECT_EQ(resumed, expect_resumed) << "the keys up to the vanished one, then the larger ones of now";
	std::set<uint32_t> got(resumed.begin(), resumed.end());
	for (uint32_t i : initial) {
		if (deleted_unvisited.count(i))
			continue;
		EXPECT_TRUE(got.count(i)) << "ifindex " << i << " existed throughout (or was reached): returned";
	}
	for (uint32_t i : deleted_unvisited)
		EXPECT_FALSE(got.count(i)) << "ifindex " << i << " was deleted before the walk reached it";
	for (uint32_t i : created)
		EXPECT_TRUE(got.count(i)) << "ifindex " << i << " created during the walk, larger: returned";
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlIter, ::testing::ValuesIn(ctl_backends()), ctl_backend_name);
