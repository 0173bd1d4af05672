// The bpf_ctlmap kernel module, through nothing but the BPF syscall: control maps created with
// BPF_MAP_CREATE + map_ifindex = a control netdev, walked with get_next_key, read with lookup,
// configured with update; checked against what the kernel says elsewhere (sysfs statistics,
// the attached program's id, ethtool ioctls) and against bad input. Also the module's BTF and its
// SEC("syscall") kfuncs (bpf/ctlmap_syscall.bpf.c).
//
// Built as kmod_ctlmap_test but not registered with ctest: the module cannot be loaded on the
// build host, so this binary runs only inside the qemu lane (kmod/run-lane.sh), where it fails
// (not skips) when the module is missing. Every test runs in a fresh namespace (NetnsTest), so
// it also proves that the module gives each namespace its own control netdevs.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "xdpctl/ctlmap.h" // before the skeleton: its .bss holds struct bpf_ctrl_xdp_stats

#include "ctl_backend.hpp"
#include "ctlmap_syscall.skel.h"
#include "kernel.hpp"
#include "netns.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using xdpctl::Fd;

namespace {

constexpr const char *kCtlDev[] = {nullptr, "ctl_xdp_stats", "ctl_xdp_attr", "ctl_xdp_md"};

struct Created {
	Fd fd;
	int err = 0; // -errno of BPF_MAP_CREATE
};

Created create_map(const char *dev, uint32_t key_size, uint32_t value_size,
		   bpf_map_type type = BPF_MAP_TYPE_HASH)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_ifindex = if_nametoindex(dev));
	int fd = bpf_map_create(type, "ctl", key_size, value_size, 1, &o);
	return {Fd(fd >= 0 ? fd : -1), fd >= 0 ? 0 : -errno};
}

// A control map of type t with the full value struct.
template <typename V> Fd ctl_map(uint32_t t)
{
	auto c = create_map(kCtlDev[t], 4, sizeof(V));
	EXPECT_EQ(c.err, 0) << "BPF_MAP_CREATE on " << kCtlDev[t];
	return std::move(c.fd);
}

std::vector<uint32_t> walk(int fd)
{
	std::vector<uint32_t> keys;
	uint32_t k = 0, next = 0;
	for (int err = bpf_map_get_next_key(fd, nullptr, &next); err == 0 && keys.size() < 4096;
	     err = bpf_map_get_next_key(fd, &k, &next)) {
		keys.push_back(next);
		k = next;
	}
	return keys;
}

std::vector<uint32_t> namespace_ifindexes()
{
	std::vector<uint32_t> v;
	struct if_nameindex *ni = if_nameindex();
	for (auto *p = ni; p && p->if_index; p++)
		v.push_back(p->if_index);
	if_freenameindex(ni);
	std::sort(v.begin(), v.end());
	return v;
}

// What sysfs says, read inside the namespace (sysfs shows the namespace of its mounter, so the
// read goes through `ip netns exec`, which remounts it).
uint64_t sysfs_stat(NetNs &ns, const std::string &ifname, const std::string &what)
{
	std::string out;
	sh(ns.exec() + "cat /sys/class/net/" + ifname + "/statistics/" + what, &out);
	return std::stoull(out.empty() ? "0" : out);
}

void send_frames(int ifindex, const Bytes &frame, int n)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0) << "AF_PACKET socket";
	struct sockaddr_ll to {};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = ifindex;
	to.sll_halen = 6;
	for (int i = 0; i < n; i++)
		EXPECT_EQ(sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)),
			  static_cast<ssize_t>(frame.size()))
			<< "frame " << i << " sent";
	close(s);
}

// ethtool ioctls: an independent view of what SETUP_REDIRECT changed
int ethtool_ioctl(const std::string &ifname, void *cmd)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr {};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
	ifr.ifr_data = static_cast<char *>(cmd);
	int rc = ioctl(s, SIOCETHTOOL, &ifr);
	int e = errno;
	close(s);
	return rc ? -e : 0;
}

bool gro_on(const std::string &ifname)
{
	struct ethtool_value v {ETHTOOL_GGRO, 0};
	return ethtool_ioctl(ifname, &v) == 0 && v.data;
}

struct ethtool_channels channels_of(const std::string &ifname)
{
	struct ethtool_channels c {};
	c.cmd = ETHTOOL_GCHANNELS;
	ethtool_ioctl(ifname, &c);
	return c;
}

int update(int fd, uint32_t key, const void *value, uint64_t flags = BPF_ANY)
{
	return bpf_map_update_elem(fd, &key, value, flags) ? -errno : 0;
}

// bpftool -j's bytes of a map without BTF: ["0x0a", "0x00", ...]
std::vector<std::byte> hex_bytes(const nlohmann::json &j)
{
	std::vector<std::byte> out;
	if (!j.is_array())
		return out;
	for (const auto &b : j)
		out.push_back(static_cast<std::byte>(std::stoul(b.get<std::string>(), nullptr, 16)));
	return out;
}

template <typename V> int lookup(int fd, uint32_t key, V &v)
{
	return bpf_map_lookup_elem(fd, &key, &v) ? -errno : 0;
}

class CtlMap : public NetnsTest {
protected:
	void SetUp() override
	{
		ASSERT_TRUE(kernel_has_module_btf("bpf_ctlmap"))
			<< "bpf_ctlmap is not loaded: this binary runs in the qemu lane (kmod/run-lane.sh)";
		NetnsTest::SetUp();
	}
};

} // namespace

TEST_F(CtlMap, EveryNamespaceHasItsOwnControlNetdevs)
{
	for (uint32_t t = BPF_CTRL_XDP_STATS; t <= BPF_CTRL_TYPE_MAX; t++)
		EXPECT_GT(if_nametoindex(kCtlDev[t]), 0u) << kCtlDev[t] << " exists in the new namespace";
	auto m = ctl_map<bpf_ctrl_xdp_stats>(BPF_CTRL_XDP_STATS);
	ASSERT_TRUE(m);
	struct bpf_map_info info {};
	uint32_t len = sizeof(info);
	ASSERT_EQ(bpf_obj_get_info_by_fd(m.get(), &info, &len), 0) << "map info";
	EXPECT_EQ(info.ifindex, if_nametoindex("ctl_xdp_stats")) << "map is offloaded to the control netdev";
}

TEST_F(CtlMap, GetNextKeyWalksTheNamespaceInAscendingIfindexOrder)
{
	add_veth("ka0", "ka1");
	add_veth("kb0", "kb1");
	auto m = ctl_map<bpf_ctrl_xdp_stats>(BPF_CTRL_XDP_STATS);
	ASSERT_TRUE(m);
	auto keys = walk(m.get());
	EXPECT_EQ(keys, namespace_ifindexes()) << "get_next_key from no key visits every ifindex once, ascending";

	// the last key ends the walk; a key that is not there starts over, as a hash map does
	// (htab_map_get_next_key: find_first_elem), through the plain syscall bpftool uses
	uint32_t last = keys.back(), next = 0;
	EXPECT_NE(bpf_map_get_next_key(m.get(), &last, &next), 0) << "nothing after the last ifindex";
	EXPECT_EQ(errno, ENOENT) << "end of walk is ENOENT";
	uint32_t gone = keys.back() + 100;
	next = 0;
	ASSERT_EQ(bpf_map_get_next_key(m.get(), &gone, &next), 0) << "a key no netdev has: " << strerror(errno);
	EXPECT_EQ(next, keys.front()) << "a key no netdev has starts over: first ifindex";
	uint32_t zero = 0;
	next = 0;
	ASSERT_EQ(bpf_map_get_next_key(m.get(), &zero, &next), 0) << "key 0 behaves like no key";
	EXPECT_EQ(next, keys.front()) << "first ifindex";
}

TEST_F(CtlMap, StatsLookupMatchesSysfsStatistics)
{
	auto v = add_veth("ks0", "ks1");
	send_frames(v.ifindex, Packet().eth(v.peer_mac, v.mac).payload(100).build(), 5);
	auto m = ctl_map<bpf_ctrl_xdp_stats>(BPF_CTRL_XDP_STATS);
	ASSERT_TRUE(m);

	for (auto [name, ifindex] : {std::pair{v.name, v.ifindex}, std::pair{v.peer, v.peer_ifindex}}) {
		SCOPED_TRACE(name);
		bpf_ctrl_xdp_stats before{}, after{};
		ASSERT_EQ(lookup(m.get(), ifindex, before), 0) << "lookup";
		uint64_t tx = sysfs_stat(ns(), name, "tx_packets"), rx = sysfs_stat(ns(), name, "rx_packets");
		uint64_t txb = sysfs_stat(ns(), name, "tx_bytes"), rxb = sysfs_stat(ns(), name, "rx_bytes");
		ASSERT_EQ(lookup(m.get(), ifindex, after), 0) << "second lookup";
		EXPECT_EQ(before.ifindex, static_cast<uint32_t>(ifindex)) << "head ifindex";
		EXPECT_EQ(before.command, 0u) << "head command";
		EXPECT_TRUE(before.avail & BPF_CTRL_STATS_LINK) << "link stats available";
		EXPECT_FALSE(before.avail & BPF_CTRL_STATS_XDP_ACTIONS) << "module leaves per-action counters to the loader";
		// the namespace is quiet, but the sysfs read sits between two lookups: no timing assumption
		EXPECT_LE(before.tx_packets, tx) << "tx_packets";
		EXPECT_GE(after.tx_packets, tx) << "tx_packets";
		EXPECT_LE(before.rx_packets, rx) << "rx_packets";
		EXPECT_GE(after.rx_packets, rx) << "rx_packets";
		EXPECT_LE(before.tx_bytes, txb) << "tx_bytes";
		EXPECT_GE(after.tx_bytes, txb) << "tx_bytes";
		EXPECT_LE(before.rx_bytes, rxb) << "rx_bytes";
		EXPECT_GE(after.rx_bytes, rxb) << "rx_bytes";
	}
	bpf_ctrl_xdp_stats s{};
	ASSERT_EQ(lookup(m.get(), v.ifindex, s), 0);
	EXPECT_GE(s.tx_packets, 5u) << "the five frames sent on " << v.name;
}

TEST_F(CtlMap, AttrShowsTheAttachedProgramAndChannels)
{
	ASSERT_TRUE(must("ip link add kc0 numtxqueues 4 numrxqueues 4 type veth peer name kc1 numtxqueues 4 numrxqueues 4"));
	ASSERT_TRUE(must("ip link set kc0 up") && must("ip link set kc1 up"));
	int ifindex = ifindex_of("kc0");
	auto m = ctl_map<bpf_ctrl_xdp_attr>(BPF_CTRL_XDP_ATTR);
	ASSERT_TRUE(m);

	bpf_ctrl_xdp_attr a{};
	ASSERT_EQ(lookup(m.get(), ifindex, a), 0) << "lookup before attach";
	ASSERT_TRUE(a.avail & BPF_CTRL_ATTR_PROGS) << "program state available";
	EXPECT_EQ(a.attach_mode, XDP_ATTACHED_NONE) << "nothing attached";
	EXPECT_EQ(a.prog_id, 0u) << "no program id";
	ASSERT_TRUE(a.avail & BPF_CTRL_ATTR_CHANNELS) << "veth reports channels";
	auto ch = channels_of("kc0");
	EXPECT_EQ(a.rx_channels, ch.rx_count) << "rx channels as ethtool -l";
	EXPECT_EQ(a.tx_channels, ch.tx_count) << "tx channels as ethtool -l";
	EXPECT_EQ(a.rx_max, 4u) << "rx max = numrxqueues";
	EXPECT_EQ(a.tx_max, 4u) << "tx max = numtxqueues";
	EXPECT_FALSE(a.avail & BPF_CTRL_ATTR_RINGS) << "veth has no ring parameters";
	if (kernel_at_least(6, 3)) {
		EXPECT_TRUE(a.avail & BPF_CTRL_ATTR_FEATURES) << "xdp_features on 6.3+";
	} else {
		EXPECT_FALSE(a.avail & BPF_CTRL_ATTR_FEATURES) << "no xdp_features before 6.3";
	}

	auto skel = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
	ASSERT_TRUE(skel) << skel.error().message();
	int prog_fd = bpf_program__fd((*skel)->progs.xdp_pass_prog);
	ASSERT_EQ(bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, nullptr), 0) << "attach native";
	struct bpf_prog_info info {};
	uint32_t len = sizeof(info);
	ASSERT_EQ(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);

	ASSERT_EQ(lookup(m.get(), ifindex, a), 0) << "lookup after attach";
	EXPECT_EQ(a.attach_mode, XDP_ATTACHED_DRV) << "native mode";
	EXPECT_EQ(a.prog_id, info.id) << "the attached program's id";
	EXPECT_EQ(a.drv_prog_id, info.id) << "drv_prog_id";
	EXPECT_EQ(a.skb_prog_id, 0u) << "no generic program";
	uint32_t rt_id = 0;
	EXPECT_EQ(bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &rt_id), 0);
	EXPECT_EQ(a.drv_prog_id, rt_id) << "same id as rtnetlink";
	if (kernel_at_least(6, 3)) {
		EXPECT_NE(a.xdp_features, 0u) << "veth announces xdp features";
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
}

TEST_F(CtlMap, SetupRedirectMakesAVethAReadyTargetAndSetsQueues)
{
	ASSERT_TRUE(must("ip link add kr0 numtxqueues 4 numrxqueues 4 type veth peer name kr1 numtxqueues 4 numrxqueues 4"));
	ASSERT_TRUE(must("ip link set kr0 up") && must("ip link set kr1 up"));
	int ifindex = ifindex_of("kr0");
	auto m = ctl_map<bpf_ctrl_xdp_attr>(BPF_CTRL_XDP_ATTR);
	ASSERT_TRUE(m);

	bpf_ctrl_xdp_attr a{};
	ASSERT_EQ(lookup(m.get(), ifindex, a), 0);
	ASSERT_TRUE(a.avail & BPF_CTRL_ATTR_REDIRECT_TARGET) << "readiness known for veth";
	EXPECT_EQ(a.redirect_target_ready, 0u) << "fresh veth: peer has neither XDP nor GRO";
	EXPECT_FALSE(gro_on("kr1")) << "peer GRO off by default";

	bpf_ctrl_xdp_attr set{};
	set.command = BPF_CTRL_SETUP_REDIRECT;
	set.rings.num = 2;
	ASSERT_EQ(update(m.get(), ifindex, &set), 0) << "SETUP_REDIRECT with 2 queues";
	EXPECT_TRUE(gro_on("kr1")) << "peer GRO turned on";
	auto ch = channels_of("kr0");
	EXPECT_EQ(ch.rx_count, 2u) << "rx queues set";
	EXPECT_EQ(ch.tx_count, 2u) << "tx queues set";

	ASSERT_EQ(lookup(m.get(), ifindex, a), 0);
	EXPECT_EQ(a.redirect_target_ready, 1u) << "ready after SETUP_REDIRECT";
	EXPECT_EQ(a.rx_channels, 2u) << "lookup sees the new queue count";

	set.rings.num = 0;
	EXPECT_EQ(update(m.get(), ifindex, &set), 0) << "SETUP_REDIRECT again is idempotent";
}

TEST_F(CtlMap, BadInputGetsAnErrnoNeverAWarning)
{
	auto v = add_veth("ke0", "ke1");
	// map creation: shapes the module refuses, and devices that are not control netdevs
	EXPECT_EQ(create_map("ctl_xdp_stats", 8, sizeof(bpf_ctrl_xdp_stats)).err, -EINVAL) << "key_size 8";
	EXPECT_EQ(create_map("ctl_xdp_stats", 4, 8).err, -EINVAL) << "value_size below the 12-byte head";
	EXPECT_EQ(create_map("ctl_xdp_stats", 4, 8192).err, -EINVAL) << "value_size above 4096";
	EXPECT_EQ(create_map("ctl_xdp_stats", 4, 208, BPF_MAP_TYPE_LRU_HASH).err, -EINVAL) << "offload only for HASH/ARRAY";
	EXPECT_EQ(create_map("ke0", 4, 208).err, -EINVAL) << "a veth is no control netdev";
	EXPECT_EQ(create_map("lo", 4, 208).err, -EOPNOTSUPP) << "lo has no ndo_bpf";
	EXPECT_EQ(create_map("ctl_xdp_stats", 4, 208, BPF_MAP_TYPE_ARRAY).err, 0) << "ARRAY shape is fine";

	auto stats = ctl_map<bpf_ctrl_xdp_stats>(BPF_CTRL_XDP_STATS);
	auto attr = ctl_map<bpf_ctrl_xdp_attr>(BPF_CTRL_XDP_ATTR);
	auto md = ctl_map<bpf_ctrl_xdp_md>(BPF_CTRL_XDP_MD);
	ASSERT_TRUE(stats && attr && md);
	bpf_ctrl_xdp_stats s{};
	for (uint32_t k : {0u, 999999u, 0x80000000u, 0xffffffffu})
		EXPECT_EQ(lookup(stats.get(), k, s), -ENOENT) << "lookup of ifindex " << k;

	EXPECT_EQ(update(stats.get(), v.ifindex, &s), -EINVAL) << "XDP_STATS is read only (EINVAL, as the library)";
	s.command = 7;
	EXPECT_EQ(update(stats.get(), v.ifindex, &s), -EINVAL) << "XDP_STATS with a command";

	bpf_ctrl_xdp_attr a{};
	EXPECT_EQ(update(attr.get(), v.ifindex, &a), -EINVAL) << "XDP_ATTR without command";
	a.command = BPF_CTRL_SETUP_MD;
	EXPECT_EQ(update(attr.get(), v.ifindex, &a), -EINVAL) << "SETUP_MD on XDP_ATTR";
	a.command = 99;
	EXPECT_EQ(update(attr.get(), v.ifindex, &a), -EINVAL) << "unknown command";
	a.command = BPF_CTRL_SETUP_REDIRECT;
	a.ifindex = v.ifindex + 1;
	EXPECT_EQ(update(attr.get(), v.ifindex, &a), -EINVAL) << "head ifindex differs from the key";
	a.ifindex = 0;
	EXPECT_EQ(update(attr.get(), 999999, &a), -ENOENT) << "SETUP_REDIRECT on a missing ifindex";
	EXPECT_EQ(update(attr.get(), v.ifindex, &a, BPF_NOEXIST), -EEXIST) << "BPF_NOEXIST: netdevs cannot be added";
	EXPECT_EQ(update(attr.get(), v.ifindex, &a, 42), -EINVAL) << "unknown flags";
	a.rings.num = 64;
	EXPECT_EQ(update(attr.get(), v.ifindex, &a), -EINVAL) << "more queues than the device has";
	a.rings.num = 0;
	a.rings.size = 512;
	EXPECT_EQ(update(attr.get(), v.ifindex, &a), -EOPNOTSUPP) << "veth has no TX ring to size";
	bpf_ctrl_xdp_attr redirect{};
	redirect.command = BPF_CTRL_SETUP_REDIRECT;
	EXPECT_EQ(update(attr.get(), if_nametoindex("lo"), &redirect), -EOPNOTSUPP) << "lo cannot transmit XDP frames";

	bpf_ctrl_xdp_md m{};
	m.command = BPF_CTRL_SETUP_MD;
	m.enable_md = 2;
	EXPECT_EQ(update(md.get(), v.ifindex, &m), -EINVAL) << "enable_md is 0 or 1";
	m.enable_md = 1;
	EXPECT_EQ(update(md.get(), v.ifindex, &m), -EOPNOTSUPP) << "SETUP_MD is the loader's in the kernel backend";

	uint32_t k = v.ifindex;
	EXPECT_NE(bpf_map_delete_elem(stats.get(), &k), 0) << "delete";
	EXPECT_EQ(errno, EOPNOTSUPP) << "netdevs are not deleted through a control map";
}

TEST_F(CtlMap, ShortAndLongValuesGetThePrefixAndAZeroedTail)
{
	auto v = add_veth("kp0", "kp1");
	send_frames(v.ifindex, Packet().eth(v.peer_mac, v.mac).payload(60).build(), 2);
	auto head = create_map("ctl_xdp_stats", 4, 12);
	ASSERT_EQ(head.err, 0) << "12-byte value: the head only";
	uint32_t h[3] = {};
	ASSERT_EQ(bpf_map_lookup_elem(head.fd.get(), &v.ifindex, h), 0);
	EXPECT_EQ(h[0], static_cast<uint32_t>(v.ifindex)) << "head ifindex";
	EXPECT_EQ(h[2], static_cast<uint32_t>(BPF_CTRL_STATS_LINK)) << "head avail";

	auto big = create_map("ctl_xdp_stats", 4, 512);
	ASSERT_EQ(big.err, 0) << "longer value than the struct (newer tool)";
	std::vector<uint8_t> buf(512, 0xee);
	ASSERT_EQ(bpf_map_lookup_elem(big.fd.get(), &v.ifindex, buf.data()), 0);
	bpf_ctrl_xdp_stats s{};
	std::memcpy(&s, buf.data(), sizeof(s));
	EXPECT_GE(s.tx_packets, 2u) << "struct part filled";
	EXPECT_TRUE(std::all_of(buf.begin() + sizeof(s), buf.end(), [](uint8_t b) { return b == 0; }))
		<< "tail zeroed";
}

// `bpftool map dump` on a control map, unchanged bpftool: the offloaded map carries no BTF, so
// bpftool -j prints keys and values as hex bytes. Every netdev of the namespace is there, once,
// and each value, decoded as the module's struct for that control type, is what the user-space
// backend answers for the same device: every field both backends can read (the ones only one
// can read are listed in tests/kmod/agree_test.cpp) is equal. The namespace is quiet (IPv6 off,
// nothing sending) after the frames below, so the counters do not move between the two reads.
TEST_F(CtlMap, BpftoolMapDumpShowsEveryNetdev)
{
	auto v = add_veth("kd0", "kd1");
	send_frames(v.ifindex, Packet().eth(v.peer_mac, v.mac).payload(100).build(), 4);
	usleep(200000); // veth receives in NAPI

	struct Type {
		uint32_t type;
		size_t size;
	};
	for (auto [type, size] : {Type{BPF_CTRL_XDP_STATS, sizeof(bpf_ctrl_xdp_stats)},
				  Type{BPF_CTRL_XDP_ATTR, sizeof(bpf_ctrl_xdp_attr)},
				  Type{BPF_CTRL_XDP_MD, sizeof(bpf_ctrl_xdp_md)}}) {
		SCOPED_TRACE(kCtlDev[type]);
		auto c = create_map(kCtlDev[type], 4, size);
		ASSERT_EQ(c.err, 0) << "BPF_MAP_CREATE on " << kCtlDev[type];
		struct bpf_map_info info {};
		uint32_t len = sizeof(info);
		ASSERT_EQ(bpf_obj_get_info_by_fd(c.fd.get(), &info, &len), 0);
		std::string js;
		ASSERT_EQ(sh("bpftool -j map show id " + std::to_string(info.id), &js), 0) << js;
		EXPECT_NE(js.find("\"dev\""), std::string::npos) << "bpftool shows the offload device: " << js;

		std::string out;
		ASSERT_EQ(sh("bpftool -j map dump id " + std::to_string(info.id), &out), 0) << out;
		auto dump = nlohmann::json::parse(out, nullptr, false);
		ASSERT_TRUE(dump.is_array()) << "bpftool -j map dump: " << out;

		// the module's BTF decodes the kernel's bytes, the user-space backend answers the same
		auto k = xdpctl::ctl::ControlMap::create(type, xdpctl::ctl::BackendChoice::Kernel);
		auto u = xdpctl::ctl::ControlMap::create(type, xdpctl::ctl::BackendChoice::User);
		ASSERT_TRUE(k) << k.error().message();
		ASSERT_TRUE(u) << u.error().message();
		std::vector<uint32_t> keys;
		for (const auto &e : dump) {
			auto key = hex_bytes(e.value("key", nlohmann::json()));
			auto val = hex_bytes(e.value("value", nlohmann::json()));
			ASSERT_EQ(key.size(), 4u) << "4-byte key: " << e;
			ASSERT_EQ(val.size(), size) << "value is the struct: " << e;
			uint32_t ifindex;
			std::memcpy(&ifindex, key.data(), sizeof(ifindex));
			keys.push_back(ifindex);
			char name[IF_NAMESIZE] = {};
			if_indextoname(ifindex, name);
			SCOPED_TRACE(std::string(name) + " (ifindex " + std::to_string(ifindex) + ")");
			uint32_t in_value;
			std::memcpy(&in_value, val.data(), sizeof(in_value));
			EXPECT_EQ(in_value, ifindex) << "the value's ifindex is its key";

			auto uv = u->lookup(ifindex);
			ASSERT_TRUE(uv) << uv.error().message();
			uint32_t ka = ctl_avail_of(val), ua = ctl_avail_of(*uv);
			bool veth = std::string(name).starts_with("kd");
			EXPECT_EQ(ua & ~ka & ~ctl_user_only(type), 0u) << "avail bits only user space has: " << (ua & ~ka);
			EXPECT_EQ(ka & ~ua & ~ctl_kernel_only(type, veth), 0u) << "avail bits only bpftool shows: " << (ka & ~ua);
			auto kj = xdpctl::ctl::btf_to_json(k->btf(), k->value_type_id(), val);
			auto uj = xdpctl::ctl::btf_to_json(u->btf(), u->value_type_id(), *uv);
			ASSERT_TRUE(kj && uj) << "values to JSON";
			xdpctl::ctl::null_unavailable(*kj, type, ua & ka);
			xdpctl::ctl::null_unavailable(*uj, type, ua & ka);
			kj->erase("avail");
			uj->erase("avail");
			EXPECT_EQ(*kj, *uj) << "bpftool:\n" << kj->dump(1) << "\nuser space:\n" << uj->dump(1);
		}
		EXPECT_EQ(keys, namespace_ifindexes()) << "every netdev once, ascending: " << out;
	}
	// the frames sent are in what bpftool printed (not a dump of zeros)
	auto s = xdpctl::ctl::ControlMap::create(BPF_CTRL_XDP_STATS, xdpctl::ctl::BackendChoice::User);
	ASSERT_TRUE(s);
	auto kd0 = s->lookup_as<struct bpf_ctrl_xdp_stats>(v.ifindex);
	ASSERT_TRUE(kd0);
	EXPECT_EQ(kd0->tx_packets, 4u) << "kd0's four frames";
}

TEST_F(CtlMap, ValueStructsAreInTheModuleBtf)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	ASSERT_TRUE(vmlinux) << "vmlinux BTF";
	struct btf *mod = btf__parse_split("/sys/kernel/btf/bpf_ctlmap", vmlinux);
	ASSERT_TRUE(mod) << "module BTF parses against vmlinux";
	struct Want {
		const char *name;
		size_t size;
	};
	for (auto w : {Want{"bpf_ctrl_xdp_stats", sizeof(bpf_ctrl_xdp_stats)},
		       Want{"bpf_ctrl_xdp_attr", sizeof(bpf_ctrl_xdp_attr)},
		       Want{"bpf_ctrl_xdp_md", sizeof(bpf_ctrl_xdp_md)}}) {
		int id = btf__find_by_name_kind(mod, w.name, BTF_KIND_STRUCT);
		ASSERT_GT(id, 0) << w.name << " in module BTF";
		EXPECT_EQ(btf__type_by_id(mod, id)->size, w.size) << w.name << " size matches include/xdpctl/ctlmap.h";
	}
	for (const char *f : {"bpf_ctlmap_next_ifindex", "bpf_ctlmap_xdp_stats"})
		EXPECT_GT(btf__find_by_name_kind(mod, f, BTF_KIND_FUNC), 0) << "kfunc " << f << " in module BTF";
	btf__free(mod);
	btf__free(vmlinux);
}

struct CtlmapArgs {
	uint32_t start, count;
	int32_t err;
};

TEST_F(CtlMap, SyscallProgramReadsTheSameStatsThroughKfuncs)
{
	auto v = add_veth("kf0", "kf1");
	send_frames(v.ifindex, Packet().eth(v.peer_mac, v.mac).payload(80).build(), 3);
	auto skel = xdpctl::open_and_load_skel<ctlmap_syscall>("ctlmap_syscall");
	ASSERT_TRUE(skel) << "kfuncs resolve against module BTF: " << skel.error().message();

	CtlmapArgs args{};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &args, .ctx_size_in = sizeof(args));
	ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd((*skel)->progs.ctlmap_dump_stats), &o), 0) << "run";
	EXPECT_EQ(args.err, 0) << "no kfunc error";
	auto want = namespace_ifindexes();
	ASSERT_EQ(args.count, want.size()) << "one value per netdev of the caller's namespace";

	auto m = ctl_map<bpf_ctrl_xdp_stats>(BPF_CTRL_XDP_STATS);
	ASSERT_TRUE(m);
	for (uint32_t i = 0; i < args.count; i++) {
		const auto &got = (*skel)->bss->stats[i];
		SCOPED_TRACE("ifindex " + std::to_string(want[i]));
		EXPECT_EQ(got.ifindex, want[i]) << "ascending ifindex";
		EXPECT_EQ(got.avail, static_cast<uint32_t>(BPF_CTRL_STATS_LINK)) << "avail as the map says";
		bpf_ctrl_xdp_stats s{};
		ASSERT_EQ(lookup(m.get(), want[i], s), 0);
		EXPECT_EQ(got.tx_packets, s.tx_packets) << "tx_packets as the control map (quiet namespace)";
		EXPECT_EQ(got.rx_packets, s.rx_packets) << "rx_packets as the control map";
	}

	args = {.start = 999999};
	ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd((*skel)->progs.ctlmap_stats_of), &o), 0) << "run";
	EXPECT_EQ(args.err, -ENOENT) << "kfunc on a missing ifindex";
	args = {.start = static_cast<uint32_t>(v.ifindex)};
	ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd((*skel)->progs.ctlmap_stats_of), &o), 0) << "run";
	EXPECT_EQ(args.err, 0) << "kfunc on " << v.name;
	EXPECT_GE((*skel)->bss->stats[0].tx_packets, 3u) << "the three frames sent";
}
