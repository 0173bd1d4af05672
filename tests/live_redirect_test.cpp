// xdp_redirect with live frames (BPF_F_TEST_XDP_LIVE_FRAMES): the test run really transmits what
// the program redirects, so frames injected "on" in0 must arrive, byte for byte, at the peer of
// the devmap entry's port and nowhere else. Every port's peer runs xdp_pass (a ready redirect
// target) unless a test is about readiness itself.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "netns.hpp"
#include "prog_run.hpp"
#include "redirect_probe.hpp"
#include "xdp_attach.hpp"
#include "xdp_devmap_stamp.skel.h"
#include "xdp_redirect.skel.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using namespace std::chrono_literals;

namespace {

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

// Frames of our own ethertype (captures ignore everything else), told apart by their payload.
Bytes frame(uint8_t seed, size_t len = 60)
{
	return Packet().eth(kMacB, kMacA).payload(len - 14, seed).build();
}

// Whether the running kernel has xdp_features (6.3+), read from its BTF.
bool kernel_has_xdp_features()
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	bool has = btf__find_by_name_kind(btf, "netdev_xdp_act", BTF_KIND_ENUM) > 0;
	btf__free(btf);
	return has;
}

class LiveRedirect : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		in_ = add_veth("in0", "in0p");
		out_ = add_veth("out0", "out0p");
		other_ = add_veth("out1", "out1p");
		ASSERT_GT(other_.ifindex, 0) << "three veth pairs";
	}

	// Every port becomes a ready redirect target: xdp_pass on each peer.
	void make_all_ready()
	{
		for (const auto *v : {&in_, &out_, &other_}) {
			auto l = attach_xdp_pass(v->peer_ifindex);
			ASSERT_TRUE(l) << "xdp_pass on " << v->peer << ": " << l.error().message();
			ready_.push_back(std::move(*l));
		}
	}

	XdpRun send_live(bpf_program *p, const Bytes &pkt)
	{
		return run_xdp(p, pkt, {.ingress_ifindex = static_cast<uint32_t>(in_.ifindex), .live = true});
	}

	VethPair in_, out_, other_;
	std::vector<XdpLink> ready_;
};

} // namespace

TEST_F(LiveRedirect, FramesFromInArriveOnlyAtOutUnchanged)
{
	make_all_ready();
	const std::vector<Bytes> sent = {frame(1), frame(2, 200), frame(3, 1514)};
	for (const auto &f : kFlavours) {
		SCOPED_TRACE(f.name);
		auto skel = load(XDP_DROP);
		ASSERT_TRUE(skel) << skel.error().message();
		xdp_redirect *s = skel->get();
		ASSERT_EQ(set_port(f.map(s), in_.ifindex, out_.ifindex), 0) << "entry in0 -> out0";

		std::map<std::string, std::unique_ptr<Capture>> caps;
		for (const char *port : {"in0", "in0p", "out0p", "out1p"})
			caps[port] = std::make_unique<Capture>(port, kEthTest);
		for (const auto &pkt : sent)
			ASSERT_EQ(send_live(f.prog(s), pkt).err, 0) << "live test run";

		auto got = caps["out0p"]->drain();
		ASSERT_EQ(got.size(), sent.size()) << "every frame arrived once at out0's peer";
		for (size_t i = 0; i < sent.size(); i++)
			EXPECT_EQ(got[i], sent[i]) << "frame " << i << " byte for byte: " << hex(got[i]);
		for (const char *port : {"in0", "in0p", "out1p"})
			EXPECT_TRUE(caps[port]->drain(50ms).empty()) << "nothing at " << port;

		auto c = read_action_stats(s->maps.xdpctl_stats);
		EXPECT_EQ(c[XDP_REDIRECT].packets, sent.size()) << "XDP_REDIRECT counted per frame";
		EXPECT_EQ(c[XDP_DROP].packets, 0u) << "no miss";
	}
}

// A veth transmits redirected frames only when its peer can receive them in NAPI: GRO on the peer
// or an XDP program on the peer each make it a working target, and detaching the program undoes
// it. Since 6.3 (xdp_features) the kernel refuses the frame before the veth sees it: the device
// does not advertise NETDEV_XDP_ACT_NDO_XMIT, so xdp:xdp_redirect_err fires with -EOPNOTSUPP.
// Older kernels queue it and the veth drops it at transmit (xdp:xdp_devmap_xmit), which the probe
// does not see, so there only the captures decide. On every kernel, the next capture holding only
// the next frame proves the frame sent while not ready was dropped, not late.
TEST_F(LiveRedirect, OutReceivesOnlyWhenItsPeerIsReady)
{
	const bool refused_at_redirect = kernel_has_xdp_features();
	auto skel = load(XDP_DROP);
	ASSERT_TRUE(skel) << skel.error().message();
	xdp_redirect *s = skel->get();
	ASSERT_EQ(set_port(s->maps.tx_port, in_.ifindex, out_.ifindex), 0) << "entry in0 -> out0";
	bpf_program *prog = s->progs.xdp_redirect_devmap;
	auto probe = RedirectErrProbe::watch(bpf_program__fd(prog));
	ASSERT_TRUE(probe) << probe.error().message();
	Capture cap("out0p", kEthTest);

	ASSERT_TRUE(set_gro("out0p", false)) << "GRO off on the peer";
	ASSERT_EQ(send_live(prog, frame(1)).err, 0) << "live run, peer not ready";
	if (refused_at_redirect) {
		EXPECT_EQ(probe->errors(), 1u) << "not ready: the kernel refused the redirect";
		EXPECT_EQ(probe->last_err(), -EOPNOTSUPP) << "refused because out0 cannot transmit XDP frames";
	}
	EXPECT_TRUE(cap.drain(50ms).empty()) << "not ready: nothing arrived";

	ASSERT_TRUE(set_gro("out0p", true)) << "GRO on the peer";
	ASSERT_EQ(send_live(prog, frame(2)).err, 0) << "live run, peer has GRO";
	auto got = cap.drain();
	ASSERT_EQ(got.size(), 1u) << "with GRO exactly one frame, and not the one sent before";
	EXPECT_EQ(got[0], frame(2)) << "the frame sent with GRO on";

	ASSERT_TRUE(set_gro("out0p", false)) << "GRO off again";
	{
		auto pass = attach_xdp_pass(out_.peer_ifindex);
		ASSERT_TRUE(pass) << pass.error().message();
		ASSERT_EQ(send_live(prog, frame(3)).err, 0) << "live run, peer runs xdp_pass";
		got = cap.drain();
		ASSERT_EQ(got.size(), 1u) << "with xdp_pass on the peer exactly one frame";
		EXPECT_EQ(got[0], frame(3)) << "the frame sent with xdp_pass attached";
	}

	const uint64_t refusals = probe->errors();
	EXPECT_EQ(refusals, refused_at_redirect ? 1u : 0u) << "no refusal while ready";
	ASSERT_EQ(send_live(prog, frame(4)).err, 0) << "live run after the link was closed";
	if (refused_at_redirect) {
		EXPECT_EQ(probe->errors(), refusals + 1) << "refused again once detached";
	}
	EXPECT_TRUE(cap.drain(50ms).empty()) << "closing the link detached xdp_pass: nothing arrived";
	ASSERT_TRUE(set_gro("out0p", true)) << "GRO on again";
	ASSERT_EQ(send_live(prog, frame(5)).err, 0) << "live run, peer has GRO again";
	got = cap.drain();
	ASSERT_EQ(got.size(), 1u) << "only the frame sent while ready: frame 4 was dropped, not late";
	EXPECT_EQ(got[0], frame(5)) << "the frame sent with GRO on again";
}

// What a miss does to a live frame, per action: PASS hands it to in0's own stack, TX sends it
// back out of in0 (to its peer), DROP and ABORTED consume it. Nothing reaches out0.
TEST_F(LiveRedirect, MissActionDecidesWhereTheFrameGoes)
{
	make_all_ready();
	struct Row {
		uint32_t miss;
		const char *arrives_at; // nullptr: nowhere
	};
	const Row rows[] = {
		{XDP_ABORTED, nullptr},
		{XDP_DROP, nullptr},
		{XDP_PASS, "in0"},
		{XDP_TX, "in0p"},
	};
	for (const auto &f : kFlavours) {
		for (const auto &row : rows) {
			SCOPED_TRACE(std::string(f.name) + ", miss_action " + std::to_string(row.miss));
			auto skel = load(row.miss);
			ASSERT_TRUE(skel) << skel.error().message();
			xdp_redirect *s = skel->get();
			ASSERT_EQ(set_port(f.map(s), other_.ifindex, out_.ifindex), 0) << "entry only for out1";

			std::map<std::string, std::unique_ptr<Capture>> caps;
			for (const char *port : {"in0", "in0p", "out0p", "out1p"})
				caps[port] = std::make_unique<Capture>(port, kEthTest);
			auto pkt = frame(static_cast<uint8_t>(row.miss + 10));
			ASSERT_EQ(send_live(f.prog(s), pkt).err, 0) << "live test run";

			if (row.arrives_at) {
				auto got = caps[row.arrives_at]->drain();
				ASSERT_EQ(got.size(), 1u) << "one frame at " << row.arrives_at;
				EXPECT_EQ(got[0], pkt) << "unchanged at " << row.arrives_at;
			}
			// Frames are delivered in the run's softirq: once one capture waited, the rest need not.
			bool waited = row.arrives_at != nullptr;
			for (auto &[port, cap] : caps) {
				if (row.arrives_at && port == row.arrives_at)
					continue;
				EXPECT_TRUE(cap->drain(waited ? 50ms : 200ms).empty()) << "nothing at " << port;
				waited = true;
			}
			EXPECT_EQ(read_action_stats(s->maps.xdpctl_stats)[row.miss].packets, 1u) << "miss counted";
		}
	}
}

// The value is struct bpf_devmap_val: an egress program in the entry (tests/progs/
// xdp_devmap_stamp.bpf.c stamps the egress ifindex into the source MAC) runs before out0 sends.
TEST_F(LiveRedirect, EntrysEgressProgramRunsBeforeTransmit)
{
	make_all_ready();
	auto stamp = xdpctl::open_and_load_skel<xdp_devmap_stamp>("xdp_devmap_stamp");
	ASSERT_TRUE(stamp) << stamp.error().message();
	const Bytes sent = frame(7);
	Bytes stamped = sent;
	stamped[11] = static_cast<uint8_t>(out_.ifindex & 0xff);
	ASSERT_NE(stamped, sent) << "the stamp is visible";

	for (const auto &f : kFlavours) {
		SCOPED_TRACE(f.name);
		auto skel = load(XDP_DROP);
		ASSERT_TRUE(skel) << skel.error().message();
		xdp_redirect *s = skel->get();
		struct bpf_devmap_val v {};
		v.ifindex = out_.ifindex;
		v.bpf_prog.fd = bpf_program__fd((*stamp)->progs.xdp_devmap_stamp);
		uint32_t key = in_.ifindex;
		ASSERT_EQ(bpf_map__update_elem(f.map(s), &key, sizeof(key), &v, sizeof(v), BPF_ANY), 0)
			<< "entry in0 -> out0 with an egress program";

		Capture cap("out0p", kEthTest);
		ASSERT_EQ(send_live(f.prog(s), sent).err, 0) << "live test run";
		auto got = cap.drain();
		ASSERT_EQ(got.size(), 1u) << "one frame at out0's peer";
		EXPECT_EQ(got[0], stamped) << "source MAC stamped by the egress program: " << hex(got[0]);
	}
}
