// XDP_STATS under real traffic: the link counters agree with the kernel's own (`ip -s -j link`)
// packet for packet and byte for byte; the per-action counters are the attached program's
// (pinned where the loader pins them) and agree with its map; a pin without an attached program
// counts for nothing; the monitor's maps are summed per device.
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>

#include "bpffs_dir.hpp"
#include "kmod/ctl_backend.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "traffic.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/monitor.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using namespace xdpctl;
namespace fs = std::filesystem;

// Parameterized over the backend (kmod/ctl_backend.hpp). Each test pins under a private bpffs
// mount of its own (XDPCTL_BPFFS): a fresh machine has no bpffs at /sys/fs/bpf, and concurrent
// runs must not share pins.
class CtlStats : public NetnsTest, public ::testing::WithParamInterface<ctl::BackendChoice> {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		XT_REQUIRE_CTL_BACKEND(GetParam());
		fs_ = std::make_unique<BpffsDir>();
		ASSERT_TRUE(fs_->ok()) << "mount a private bpffs (it sets XDPCTL_BPFFS)";
		auto l = current_layout();
		ASSERT_TRUE(l) << l.error().message();
		ns_dir_ = l->ns_dir();
	}
	void TearDown() override
	{
		fs_.reset(); // unmounting drops every pin the test made
		NetnsTest::TearDown();
	}
	std::string pin_dir(int ifindex)
	{
		std::string d = ns_dir_ + "/if" + std::to_string(ifindex);
		fs::create_directories(d);
		return d;
	}
	std::unique_ptr<BpffsDir> fs_;
	std::string ns_dir_;
};

namespace {

void expect_link_counters(const struct bpf_ctrl_xdp_stats &s, const std::string &ifname)
{
	auto ip = ip_link_stats(ifname);
	ASSERT_TRUE(ip) << "ip -s -j link show dev " << ifname;
	EXPECT_TRUE(s.avail & BPF_CTRL_STATS_LINK) << ifname << ": link counters available";
	EXPECT_EQ(s.rx_packets, ip->rx_packets) << ifname << ": rx packets as ip -s says";
	EXPECT_EQ(s.rx_bytes, ip->rx_bytes) << ifname << ": rx bytes as ip -s says";
	EXPECT_EQ(s.rx_dropped, ip->rx_dropped) << ifname << ": rx dropped as ip -s says";
	EXPECT_EQ(s.tx_packets, ip->tx_packets) << ifname << ": tx packets as ip -s says";
	EXPECT_EQ(s.tx_bytes, ip->tx_bytes) << ifname << ": tx bytes as ip -s says";
	EXPECT_EQ(s.tx_dropped, ip->tx_dropped) << ifname << ": tx dropped as ip -s says";
}

} // namespace

TEST_P(CtlStats, AgreesWithIpAndWithTheProgramPacketForPacket)
{
	auto v = add_veth("st0", "st1");
	auto skel = open_and_load_skel<xdp_pass>("xdp_pass");
	ASSERT_TRUE(skel) << skel.error().message();
	ASSERT_EQ(bpf_xdp_attach(v.peer_ifindex, bpf_program__fd((*skel)->progs.xdp_pass_prog), XDP_FLAGS_DRV_MODE,
				 nullptr),
		  0)
		<< "xdp_pass on st1";
	std::string pin = pin_dir(v.peer_ifindex) + "/" + XDPCTL_STATS_MAP;
	ASSERT_EQ(bpf_map__pin((*skel)->maps.xdpctl_stats, pin.c_str()), 0) << "pin as the loader does: " << pin;

	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, GetParam());
	ASSERT_TRUE(map) << map.error().message();

	struct Row {
		const char *what;
		size_t len;
		int count;
	};
	const Row rows[] = {
		{"minimum frames", 60, 10},
		{"mid-size frames", 500, 25},
		{"full-size frames", 1514, 7},
	};
	uint64_t pass_packets = 0, pass_bytes = 0;
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		auto frame = Packet().eth(v.peer_mac, v.mac).pad_to(row.len).build();
		ASSERT_EQ(send_frames("st0", frame, row.count), row.count) << "frames sent";
		pass_packets += static_cast<uint64_t>(row.count);
		pass_bytes += static_cast<uint64_t>(row.count) * row.len;

		auto counted = read_action_stats((*skel)->maps.xdpctl_stats);
		// veth receives in NAPI: wait until the program has seen every frame
		for (int i = 0; i < 100 && counted[XDP_PASS].packets < pass_packets; i++) {
			usleep(10000);
			counted = read_action_stats((*skel)->maps.xdpctl_stats);
		}
		for (auto [idx, name] : {std::pair{v.ifindex, "st0"}, std::pair{v.peer_ifindex, "st1"}}) {
			auto s = map->lookup_as<struct bpf_ctrl_xdp_stats>(idx);
			ASSERT_TRUE(s) << s.error().message();
			EXPECT_EQ(s->ifindex, static_cast<uint32_t>(idx)) << "value names its ifindex";
			expect_link_counters(*s, name);
		}
		auto s1 = map->lookup_as<struct bpf_ctrl_xdp_stats>(v.peer_ifindex);
		ASSERT_TRUE(s1) << s1.error().message();
		ASSERT_TRUE(s1->avail & BPF_CTRL_STATS_XDP_ACTIONS) << "st1 runs a program of the collection";
		EXPECT_EQ(s1->xdp[XDP_PASS].packets, pass_packets) << "XDP_PASS packets: every frame sent";
		EXPECT_EQ(s1->xdp[XDP_PASS].bytes, pass_bytes) << "XDP_PASS bytes";
		for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++) {
			EXPECT_EQ(s1->xdp[a].packets, counted[a].packets) << "as the program's map says, action " << a;
			EXPECT_EQ(s1->xdp[a].bytes, counted[a].bytes) << "as the program's map says, action " << a;
		}
		EXPECT_EQ(s1->rx_packets, pass_packets) << "the device received exactly the frames sent";
		auto s0 = map->lookup_as<struct bpf_ctrl_xdp_stats>(v.ifindex);
		ASSERT_TRUE(s0) << s0.error().message();
		EXPECT_FALSE(s0->avail & BPF_CTRL_STATS_XDP_ACTIONS) << "st0 runs no program: unavailable";
		EXPECT_EQ(s0->tx_packets, pass_packets) << "st0 transmitted exactly the frames sent";
	}

	// detached, the pin stays but no longer describes the device: not shown as its counters
	ASSERT_EQ(bpf_xdp_detach(v.peer_ifindex, XDP_FLAGS_DRV_MODE, nullptr), 0) << "detach";
	auto s1 = map->lookup_as<struct bpf_ctrl_xdp_stats>(v.peer_ifindex);
	ASSERT_TRUE(s1) << s1.error().message();
	EXPECT_FALSE(s1->avail & BPF_CTRL_STATS_XDP_ACTIONS) << "stale pin: per-action counters unavailable";
	EXPECT_EQ(s1->xdp[XDP_PASS].packets, 0u) << "and not invented";
}

TEST_P(CtlStats, MonitorMapsAreSummedForTheirDevice)
{
	auto v = add_veth("mo0", "mo1");
	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	auto s = map->lookup_as<struct bpf_ctrl_xdp_stats>(v.ifindex);
	ASSERT_TRUE(s) << s.error().message();
	EXPECT_FALSE(s->avail & BPF_CTRL_STATS_XDP_ERRORS) << "no monitor running: error counts unavailable";

	// the monitor's maps in the layout of include/xdpctl/monitor.h, filled by hand
	std::string dir = ns_dir_ + "/monitor";
	fs::create_directories(dir);
	int exc = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpctl_mon_exc", sizeof(struct xdpctl_mon_key), 8, 16, nullptr);
	int rerr = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpctl_mon_rerr", sizeof(struct xdpctl_mon_key), 8, 16, nullptr);
	int xmit = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpctl_mon_xmit", sizeof(struct xdpctl_mon_xmit_key),
				  sizeof(struct xdpctl_mon_xmit), 16, nullptr);
	ASSERT_GE(exc, 0) << "exc map";
	ASSERT_GE(rerr, 0) << "rerr map";
	ASSERT_GE(xmit, 0) << "xmit map";
	uint32_t me = static_cast<uint32_t>(v.ifindex), other = static_cast<uint32_t>(v.peer_ifindex);
	auto put = [](int fd, const auto &k, const auto &val) { ASSERT_EQ(bpf_map_update_elem(fd, &k, &val, 0), 0); };
	put(exc, xdpctl_mon_key{me, XDP_ABORTED}, uint64_t{3});
	put(exc, xdpctl_mon_key{me, XDP_TX}, uint64_t{4});
	put(exc, xdpctl_mon_key{other, XDP_ABORTED}, uint64_t{100});
	put(rerr, xdpctl_mon_key{me, ENETDOWN}, uint64_t{5});
	put(rerr, xdpctl_mon_key{me, EINVAL}, uint64_t{6});
	put(xmit, xdpctl_mon_xmit_key{other, me}, xdpctl_mon_xmit{20, 2, 1});
	put(xmit, xdpctl_mon_xmit_key{me, other}, xdpctl_mon_xmit{1000, 1000, 1000});
	ASSERT_EQ(bpf_obj_pin(exc, (dir + "/xdpctl_mon_exc").c_str()), 0);
	ASSERT_EQ(bpf_obj_pin(rerr, (dir + "/xdpctl_mon_rerr").c_str()), 0);
	ASSERT_EQ(bpf_obj_pin(xmit, (dir + "/xdpctl_mon_xmit").c_str()), 0);
	close(exc);
	close(rerr);
	close(xmit);

	s = map->lookup_as<struct bpf_ctrl_xdp_stats>(v.ifindex);
	ASSERT_TRUE(s) << s.error().message();
	EXPECT_TRUE(s->avail & BPF_CTRL_STATS_XDP_ERRORS) << "monitor maps pinned: error counts available";
	EXPECT_EQ(s->xdp_exceptions, 7u) << "exceptions of this device, every action";
	EXPECT_EQ(s->xdp_redirect_errors, 11u) << "redirect errors of this device, every errno";
	EXPECT_EQ(s->xdp_devmap_xmit_sent, 20u) << "devmap transmits out of this device";
	EXPECT_EQ(s->xdp_devmap_xmit_drops, 2u) << "devmap drops out of this device";
}

namespace {

// Walks every key from no key, looking each up as it goes; the values by ifindex.
std::map<uint32_t, struct bpf_ctrl_xdp_stats> walk(ctl::ControlMap &m)
{
	std::map<uint32_t, struct bpf_ctrl_xdp_stats> out;
	uint32_t key = 0, next = 0;
	const uint32_t *cur = nullptr;
	while (m.get_next_key(cur, &next)) {
		key = next;
		cur = &key;
		auto v = m.lookup_as<struct bpf_ctrl_xdp_stats>(key);
		EXPECT_TRUE(v) << "lookup of a walked key: " << v.error().message();
		if (v)
			out[key] = *v;
	}
	return out;
}

// Sends n minimum frames out of v.name and waits until the kernel counted them on the peer.
void send_and_wait(const VethPair &v, int n)
{
	auto before = ip_link_stats(v.peer);
	ASSERT_TRUE(before);
	auto frame = Packet().eth(v.peer_mac, v.mac).pad_to(60).build();
	ASSERT_EQ(send_frames(v.name, frame, n), n) << "frames sent";
	for (int i = 0; i < 100; i++) {
		auto now = ip_link_stats(v.peer);
		if (now && now->rx_packets >= before->rx_packets + static_cast<uint64_t>(n))
			return;
		usleep(10000);
	}
	FAIL() << v.peer << " never counted the frames";
}

} // namespace

// The freshness rule (user backend: a walk's lookups come from one snapshot taken when the
// walk starts, ctlmap.hpp): what changed before a walk starts is in it, a second lookup of a key
// and a lookup after the walk ended ask the kernel, and devices created or deleted after the
// snapshot are answered as they are now. The kernel backend asks every time; the same holds.
TEST_P(CtlStats, EachWalkAndEachLookupAfterTheFirstSeeTheCountersOfNow)
{
	auto v = add_veth("fr0", "fr1");
	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	const uint32_t idx = static_cast<uint32_t>(v.ifindex);

	auto first = walk(*map);
	ASSERT_TRUE(first.count(idx)) << "fr0 walked";
	expect_link_counters(first[idx], "fr0");

	send_and_wait(v, 5);
	auto second = walk(*map);
	ASSERT_TRUE(second.count(idx)) << "fr0 walked again";
	EXPECT_EQ(second[idx].tx_packets, first[idx].tx_packets + 5) << "the second walk sees the 5 frames sent between";
	expect_link_counters(second[idx], "fr0");

	// within one walk: the first lookup of fr0, then frames, then fr0 again
	uint32_t next = 0;
	ASSERT_TRUE(map->get_next_key(nullptr, &next)) << "a walk starts";
	auto in_walk = map->lookup_as<struct bpf_ctrl_xdp_stats>(idx);
	ASSERT_TRUE(in_walk) << in_walk.error().message();
	send_and_wait(v, 3);
	auto again = map->lookup_as<struct bpf_ctrl_xdp_stats>(idx);
	ASSERT_TRUE(again) << again.error().message();
	EXPECT_EQ(again->tx_packets, second[idx].tx_packets + 3) << "a second lookup of a key in the walk is fresh";
	expect_link_counters(*again, "fr0");

	// the walk runs to its end; afterwards a lookup is outside any walk
	uint32_t key = next;
	while (map->get_next_key(&key, &next))
		key = next;
	send_and_wait(v, 2);
	auto after = map->lookup_as<struct bpf_ctrl_xdp_stats>(idx);
	ASSERT_TRUE(after) << after.error().message();
	EXPECT_EQ(after->tx_packets, second[idx].tx_packets + 5) << "a lookup outside a walk is fresh";
	expect_link_counters(*after, "fr0");
}

TEST_P(CtlStats, DevicesCreatedOrDeletedAfterTheWalkStartedAreAnsweredAsTheyAreNow)
{
	auto old = add_veth("sn0", "sn1");
	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	uint32_t next = 0;
	ASSERT_TRUE(map->get_next_key(nullptr, &next)) << "a walk starts (and takes its snapshot)";

	auto v = add_veth("sn2", "sn3");
	send_and_wait(v, 4);
	auto s = map->lookup_as<struct bpf_ctrl_xdp_stats>(static_cast<uint32_t>(v.ifindex));
	ASSERT_TRUE(s) << "a device created after the walk started: " << s.error().message();
	EXPECT_EQ(s->ifindex, static_cast<uint32_t>(v.ifindex)) << "its own value";
	EXPECT_EQ(s->tx_packets, 4u) << "its own counters";
	expect_link_counters(*s, "sn2");

	must("ip link del sn0");
	auto gone = map->lookup_as<struct bpf_ctrl_xdp_stats>(static_cast<uint32_t>(old.ifindex));
	ASSERT_FALSE(gone) << "a device deleted after the walk started is not answered from the past";
	EXPECT_EQ(gone.error().err, ENOENT) << gone.error().message();
	auto gone_peer = map->lookup_as<struct bpf_ctrl_xdp_stats>(static_cast<uint32_t>(old.peer_ifindex));
	ASSERT_FALSE(gone_peer) << "nor its peer, deleted with it";
	EXPECT_EQ(gone_peer.error().err, ENOENT) << gone_peer.error().message();
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlStats, ::testing::ValuesIn(ctl_backends()), ctl_backend_name);
