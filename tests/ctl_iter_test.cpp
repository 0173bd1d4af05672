// get_next_key over 1,000 veth devices (500 pairs): every netdev of the namespace exactly once,
// in ascending ifindex order; and a walk during which devices vanish and appear: the walk goes on
// past a vanished current key, never returns a device deleted before it was reached, and returns
// devices created meanwhile (their ifindexes are larger).
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

TEST_P(CtlIter, DevicesVanishingAndAppearingDuringTheWalk)
{
	add_veths("vw", 100);
	auto initial = ip_ifindexes();
	ASSERT_EQ(initial.size(), 201u + module_netdevs()) << "lo + 200 veth devices (+ the module's control netdevs)";

	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	std::vector<uint32_t> walked;
	std::set<uint32_t> deleted_unvisited, created;
	uint32_t key = 0, next = 0;
	const uint32_t *cur = nullptr;
	bool changed = false;
	for (;;) {
		auto st = map->get_next_key(cur, &next);
		if (!st) {
			EXPECT_EQ(st.error().err, ENOENT) << st.error().message();
			break;
		}
		walked.push_back(next);
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
			// a vanished key still leads on: to the next larger ifindex that exists
			uint32_t probe = 0;
			ASSERT_TRUE(map->get_next_key(&key, &probe)) << "get_next_key from a vanished key";
			EXPECT_EQ(probe, *after.upper_bound(key)) << "the next larger existing ifindex";
			add_veths("nw", 3);
			for (uint32_t i : ip_ifindexes())
				if (!after.count(i))
					created.insert(i);
			ASSERT_EQ(created.size(), 6u) << "three new pairs";
		}
	}
	EXPECT_TRUE(std::adjacent_find(walked.begin(), walked.end(), std::greater_equal<>()) == walked.end())
		<< "strictly ascending, no ifindex twice";
	std::set<uint32_t> got(walked.begin(), walked.end());
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
