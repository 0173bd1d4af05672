// xdp_redirect through BPF_PROG_TEST_RUN (no live frames: the verdict and the frame come back,
// nothing is transmitted). For both devmap flavours and each configurable miss action: a frame
// whose ingress ifindex has an entry is XDP_REDIRECTed, any other gets miss_action, the bytes are
// never touched, and the counters see every frame once under its verdict.
#include <gtest/gtest.h>

#include <functional>

#include "netns.hpp"
#include "prog_run.hpp"
#include "xdp_redirect.skel.h"
#include "xdpctl/broadcast.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;

namespace {

struct Row {
	const char *what;
	Bytes pkt;
};

// The program never parses the frame, so malformed frames are forwarded like any other.
std::vector<Row> frames()
{
	return {
		{"udp over ipv4", Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(18).build()},
		{"tcp over ipv6", Packet().eth(kMacB, kMacA).ipv6("fd00::1", "fd00::2").tcp(1, 2).build()},
		{"arp request", Packet().eth(kMacBcast, kMacA).arp_request("10.0.0.1", "10.0.0.2", kMacA).build()},
		{"runt: Ethernet header only", truncated(Packet().eth(kMacB, kMacA).payload(46).build(), 14)},
		{"truncated ipv4 header", truncated(Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), 20)},
		{"wrong ethertype", Packet().eth(kMacB, kMacA, 0x1234).payload(50).build()},
		{"vlan in vlan", Packet().eth(kMacB, kMacA).vlan(10, 0x88a8).vlan(20).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build()},
		{"maximum-size frame (1514)", Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).pad_to(1514).build()},
	};
}

// One devmap flavour: its program and its map in a loaded skeleton.
struct Flavour {
	const char *name;
	std::function<bpf_program *(xdp_redirect *)> prog;
	std::function<bpf_map *(xdp_redirect *)> map;
};

const Flavour kFlavours[] = {
	{"DEVMAP", [](xdp_redirect *s) { return s->progs.xdp_redirect_devmap; },
	 [](xdp_redirect *s) { return s->maps.tx_port; }},
	{"DEVMAP_HASH", [](xdp_redirect *s) { return s->progs.xdp_redirect_devmap_hash; },
	 [](xdp_redirect *s) { return s->maps.tx_port_hash; }},
};

const char *action_name(uint32_t a)
{
	static const char *names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"};
	return a < 5 ? names[a] : "?";
}

xdpctl::Result<xdpctl::Skel<xdp_redirect>> load(uint32_t miss_action)
{
	auto s = xdpctl::open_skel<xdp_redirect>("xdp_redirect");
	if (!s)
		return s;
	(*s)->rodata->miss_action = miss_action;
	if (auto st = xdpctl::load_skel(*s, "xdp_redirect"); !st)
		return std::unexpected(st.error());
	return s;
}

int set_port(bpf_map *m, uint32_t in_ifindex, uint32_t out_ifindex)
{
	struct bpf_devmap_val v {};
	v.ifindex = out_ifindex;
	return bpf_map__update_elem(m, &in_ifindex, sizeof(in_ifindex), &v, sizeof(v), BPF_ANY);
}

class XdpRedirectRun : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		in_ = add_veth("in0", "in0p");
		out_ = add_veth("out0", "out0p");
		ASSERT_GT(in_.ifindex, 0) << "ingress veth";
		ASSERT_GT(out_.ifindex, 0) << "egress veth";
	}
	VethPair in_, out_;
};

} // namespace

// The table: every frame, once from a port with an entry (hit) and once from a port without
// (miss), for each flavour and each miss action the flags' low bits can carry.
TEST_F(XdpRedirectRun, HitRedirectsMissTakesConfiguredActionBytesUntouched)
{
	for (const auto &f : kFlavours) {
		for (uint32_t miss : {XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX}) {
			SCOPED_TRACE(std::string(f.name) + ", miss_action " + action_name(miss));
			auto skel = load(miss);
			ASSERT_TRUE(skel) << skel.error().message();
			xdp_redirect *s = skel->get();
			ASSERT_EQ(set_port(f.map(s), in_.ifindex, out_.ifindex), 0) << "entry in0 -> out0";

			uint64_t n = 0, bytes = 0;
			for (const auto &row : frames()) {
				SCOPED_TRACE(row.what);
				auto hit = run_xdp(f.prog(s), row.pkt, {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex)});
				ASSERT_EQ(hit.err, 0) << "test run, ingress in0";
				EXPECT_EQ(hit.retval, XDP_REDIRECT) << "verdict for a port with an entry";
				EXPECT_EQ(hit.data, row.pkt) << "redirected bytes untouched: " << hex(hit.data);

				auto m = run_xdp(f.prog(s), row.pkt, {.ingress_ifindex = static_cast<uint32_t>(out_.ifindex)});
				ASSERT_EQ(m.err, 0) << "test run, ingress out0";
				EXPECT_EQ(m.retval, miss) << "verdict for a port without an entry";
				EXPECT_EQ(m.data, row.pkt) << "missed bytes untouched: " << hex(m.data);
				n++;
				bytes += row.pkt.size();
			}

			auto c = read_action_stats(s->maps.xdpctl_stats);
			EXPECT_EQ(c[XDP_REDIRECT].packets, n) << "XDP_REDIRECT packets";
			EXPECT_EQ(c[XDP_REDIRECT].bytes, bytes) << "XDP_REDIRECT bytes";
			EXPECT_EQ(c[miss].packets, n) << "miss action packets";
			EXPECT_EQ(c[miss].bytes, bytes) << "miss action bytes";
			for (uint32_t a = XDP_ABORTED; a < XDP_REDIRECT; a++) {
				if (a == miss)
					continue;
				EXPECT_EQ(c[a].packets, 0u) << "no frame under " << action_name(a);
			}
		}
	}
}

// Run-time configuration: the entry is looked up per frame, so deleting it turns hits into misses
// and re-pointing it needs no reload.
TEST_F(XdpRedirectRun, EntryChangesTakeEffectOnTheNextFrame)
{
	auto pkt = Packet().eth(kMacB, kMacA).payload(50).build();
	for (const auto &f : kFlavours) {
		SCOPED_TRACE(f.name);
		auto skel = load(XDP_DROP);
		ASSERT_TRUE(skel) << skel.error().message();
		xdp_redirect *s = skel->get();
		XdpRunOpts from_in{.ingress_ifindex = static_cast<uint32_t>(in_.ifindex)};

		EXPECT_EQ(run_xdp(f.prog(s), pkt, from_in).retval, XDP_DROP) << "empty map: miss";
		ASSERT_EQ(set_port(f.map(s), in_.ifindex, out_.ifindex), 0) << "add in0 -> out0";
		EXPECT_EQ(run_xdp(f.prog(s), pkt, from_in).retval, XDP_REDIRECT) << "after add: hit";
		uint32_t key = in_.ifindex;
		ASSERT_EQ(bpf_map__delete_elem(f.map(s), &key, sizeof(key), 0), 0) << "delete in0";
		EXPECT_EQ(run_xdp(f.prog(s), pkt, from_in).retval, XDP_DROP) << "after delete: miss";

		auto c = read_action_stats(s->maps.xdpctl_stats);
		EXPECT_EQ(c[XDP_DROP].packets, 2u) << "two misses counted";
		EXPECT_EQ(c[XDP_REDIRECT].packets, 1u) << "one hit counted";
	}
}

// The maps' shape is the contract with the loader: u32 ifindex keys, struct bpf_devmap_val values
// (room for an egress program per entry), XDPCTL_DEVMAP_MAX_ENTRIES entries.
TEST(XdpRedirectMaps, DevmapsTakeBpfDevmapValAndIfindexKeys)
{
	auto skel = xdpctl::open_and_load_skel<xdp_redirect>("xdp_redirect");
	ASSERT_TRUE(skel) << skel.error().message();
	for (const auto &f : kFlavours) {
		SCOPED_TRACE(f.name);
		bpf_map *m = f.map(skel->get());
		EXPECT_EQ(bpf_map__key_size(m), sizeof(uint32_t)) << "key: ifindex";
		EXPECT_EQ(bpf_map__value_size(m), sizeof(struct bpf_devmap_val)) << "value: struct bpf_devmap_val";
		EXPECT_EQ(bpf_map__max_entries(m), XDPCTL_DEVMAP_MAX_ENTRIES) << "max entries";
	}
	EXPECT_EQ(bpf_map__type(skel->get()->maps.tx_port), BPF_MAP_TYPE_DEVMAP) << "tx_port type";
	EXPECT_EQ(bpf_map__type(skel->get()->maps.tx_port_hash), BPF_MAP_TYPE_DEVMAP_HASH) << "tx_port_hash type";
	EXPECT_EQ(skel->get()->rodata->miss_action, static_cast<uint32_t>(XDP_PASS)) << "default miss action";
}

// What the kernel refuses, so the loader can report it: an ifindex that is no device of this
// namespace, and (DEVMAP only, it is an array) a key beyond max_entries.
TEST_F(XdpRedirectRun, KernelRefusesBadEntries)
{
	auto skel = xdpctl::open_and_load_skel<xdp_redirect>("xdp_redirect");
	ASSERT_TRUE(skel) << skel.error().message();
	xdp_redirect *s = skel->get();
	for (const auto &f : kFlavours)
		EXPECT_EQ(set_port(f.map(s), in_.ifindex, 0x7ffffff0), -EINVAL) << f.name << ": unknown egress ifindex";
	EXPECT_EQ(set_port(s->maps.tx_port, XDPCTL_DEVMAP_MAX_ENTRIES, out_.ifindex), -E2BIG)
		<< "DEVMAP key beyond max_entries";
	EXPECT_EQ(set_port(s->maps.tx_port_hash, 0x7ffffff0, out_.ifindex), 0) << "DEVMAP_HASH takes any key";
}

// Only XDP_ABORTED..XDP_TX fit in the flags' low bits. Anything else is an invalid flag to the
// kernel, which then aborts every frame, hit or miss: the loader must refuse such a miss action.
TEST_F(XdpRedirectRun, KernelAbortsEveryFrameWhenMissActionIsNotALowBitsAction)
{
	auto skel = load(XDP_REDIRECT);
	ASSERT_TRUE(skel) << skel.error().message();
	xdp_redirect *s = skel->get();
	ASSERT_EQ(set_port(s->maps.tx_port, in_.ifindex, out_.ifindex), 0) << "entry in0 -> out0";
	auto pkt = Packet().eth(kMacB, kMacA).payload(50).build();
	auto r = run_xdp(s->progs.xdp_redirect_devmap, pkt, {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex)});
	ASSERT_EQ(r.err, 0) << "test run";
	EXPECT_EQ(r.retval, XDP_ABORTED) << "a hit is aborted too";
	EXPECT_EQ(read_action_stats(s->maps.xdpctl_stats)[XDP_ABORTED].packets, 1u) << "counted as XDP_ABORTED";
}

// A test run needs ingress_ifindex to name a device of the caller's namespace.
TEST_F(XdpRedirectRun, KernelRefusesTestRunFromUnknownIngressDevice)
{
	auto skel = xdpctl::open_and_load_skel<xdp_redirect>("xdp_redirect");
	ASSERT_TRUE(skel) << skel.error().message();
	auto pkt = Packet().eth(kMacB, kMacA).payload(50).build();
	auto r = run_xdp(skel->get()->progs.xdp_redirect_devmap, pkt, {.ingress_ifindex = 0x7ffffff0});
	EXPECT_EQ(r.err, -ENODEV) << "ingress ifindex with no device";
}
