// SETUP_REDIRECT under live traffic: frames XDP_REDIRECTed (devmap) into a veth whose peer has
// neither a native XDP program nor GRO are dropped; after the control map's SETUP_REDIRECT on
// that veth the same frames arrive on the peer, byte for byte. XDP_ATTR's redirect_target_ready
// says so before and after.
#include <gtest/gtest.h>
#include <linux/if_link.h>

#include "ctl_redirect.skel.h"
#include "kmod/ctl_backend.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using namespace xdpctl;

// Parameterized over the backend (kmod/ctl_backend.hpp).
class CtlRedirect : public NetnsTest, public ::testing::WithParamInterface<ctl::BackendChoice> {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		XT_REQUIRE_CTL_BACKEND(GetParam());
	}
};

namespace {

std::string gro_of(const std::string &ifname)
{
	std::string out;
	sh("ethtool -k " + ifname + " | grep '^generic-receive-offload:'", &out);
	return out;
}

} // namespace

TEST_P(CtlRedirect, TargetWhosePeerIsNotReadyDeliversNothingUntilSetupRedirect)
{
	auto in = add_veth("rin0", "rin1");
	auto out = add_veth("rout0", "rout1"); // redirect into rout0, frames arrive on rout1
	ASSERT_EQ(gro_of("rout1"), "generic-receive-offload: off\n") << "peer starts without GRO";

	auto skel = open_and_load_skel<ctl_redirect>("ctl_redirect");
	ASSERT_TRUE(skel) << skel.error().message();
	uint32_t key = 0, target = static_cast<uint32_t>(out.ifindex);
	ASSERT_EQ(bpf_map_update_elem(bpf_map__fd((*skel)->maps.ctl_tx_port), &key, &target, 0), 0)
		<< "devmap entry for rout0";

	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	auto before = map->lookup_as<struct bpf_ctrl_xdp_attr>(out.ifindex);
	ASSERT_TRUE(before) << before.error().message();
	ASSERT_TRUE(before->avail & BPF_CTRL_ATTR_REDIRECT_TARGET) << "readiness known for a veth";
	EXPECT_EQ(before->redirect_target_ready, 0u) << "peer without XDP or GRO: not ready";

	auto frame = Packet().eth(out.peer_mac, in.mac).payload(64, 7).build();
	auto is_ours = [&](const Bytes &f) { return f == frame; };
	const int n = 16;

	{
		Capture cap("rout1", kEthTest);
		auto r = run_xdp((*skel)->progs.ctl_redirect, frame,
				 {.ingress_ifindex = static_cast<uint32_t>(in.ifindex), .repeat = n, .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";
		auto got = cap.drain(std::chrono::milliseconds(300), is_ours);
		EXPECT_EQ(got.size(), 0u) << "nothing arrives through a veth whose peer is not ready";
	}

	struct bpf_ctrl_xdp_attr cmd {};
	cmd.command = BPF_CTRL_SETUP_REDIRECT;
	auto st = map->update_as(out.ifindex, cmd);
	ASSERT_TRUE(st) << st.error().message();
	EXPECT_EQ(gro_of("rout1"), "generic-receive-offload: on\n") << "SETUP_REDIRECT turned GRO on on the peer";

	auto after = map->lookup_as<struct bpf_ctrl_xdp_attr>(out.ifindex);
	ASSERT_TRUE(after) << after.error().message();
	EXPECT_EQ(after->redirect_target_ready, 1u) << "ready after SETUP_REDIRECT";
	if (after->avail & BPF_CTRL_ATTR_FEATURES) {
		EXPECT_TRUE(after->xdp_features & NETDEV_XDP_ACT_NDO_XMIT)
			<< "the kernel agrees: xdp-features has ndo-xmit now";
	}

	{
		Capture cap("rout1", kEthTest);
		auto r = run_xdp((*skel)->progs.ctl_redirect, frame,
				 {.ingress_ifindex = static_cast<uint32_t>(in.ifindex), .repeat = n, .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";
		auto got = cap.drain(std::chrono::milliseconds(500), is_ours);
		EXPECT_EQ(got.size(), static_cast<size_t>(n)) << "every frame arrives after SETUP_REDIRECT";
		for (auto &f : got)
			EXPECT_EQ(f, frame) << "frame bytes: " << hex(f);
	}

	auto c = read_action_stats((*skel)->maps.xdpctl_stats);
	EXPECT_EQ(c[XDP_REDIRECT].packets, 2u * n) << "the program redirected both rounds";

	// a second SETUP_REDIRECT on a ready target changes nothing and succeeds
	st = map->update_as(out.ifindex, cmd);
	EXPECT_TRUE(st) << "idempotent: " << (st ? "" : st.error().message());
}

TEST_P(CtlRedirect, PeerWithNativeXdpIsAlreadyReady)
{
	auto out = add_veth("rx0", "rx1");
	auto skel = open_and_load_skel<ctl_redirect>("ctl_redirect");
	ASSERT_TRUE(skel) << skel.error().message();
	ASSERT_EQ(bpf_xdp_attach(out.peer_ifindex, bpf_program__fd((*skel)->progs.ctl_redirect), XDP_FLAGS_DRV_MODE,
				 nullptr),
		  0)
		<< "native XDP on the peer";
	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	auto a = map->lookup_as<struct bpf_ctrl_xdp_attr>(out.ifindex);
	ASSERT_TRUE(a) << a.error().message();
	EXPECT_EQ(a->redirect_target_ready, 1u) << "peer runs native XDP: ready";
	auto p = map->lookup_as<struct bpf_ctrl_xdp_attr>(out.peer_ifindex);
	ASSERT_TRUE(p) << p.error().message();
	EXPECT_EQ(p->attach_mode, XDP_ATTACHED_DRV) << "peer's attach mode";
	EXPECT_NE(p->drv_prog_id, 0u) << "peer's driver-mode program id";
	EXPECT_EQ(p->prog_id, p->drv_prog_id) << "the single program is the driver-mode one";

	struct bpf_ctrl_xdp_attr cmd {};
	cmd.command = BPF_CTRL_SETUP_REDIRECT;
	ASSERT_TRUE(map->update_as(out.ifindex, cmd)) << "SETUP_REDIRECT on a ready target";
	EXPECT_EQ(gro_of("rx1"), "generic-receive-offload: off\n") << "nothing to change: GRO left off";
}

TEST_P(CtlRedirect, ChannelsAreSetWhereTheVethHasThem)
{
	must("ip link add rc0 numtxqueues 4 numrxqueues 4 type veth peer name rc1 numtxqueues 4 numrxqueues 4");
	must("ip link set rc0 up");
	must("ip link set rc1 up");
	uint32_t idx = static_cast<uint32_t>(ifindex_of("rc0"));
	auto map = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
	ASSERT_TRUE(map) << map.error().message();
	struct bpf_ctrl_xdp_attr cmd {};
	cmd.command = BPF_CTRL_SETUP_REDIRECT;
	cmd.rings.num = 2;
	auto st = map->update_as(idx, cmd);
	ASSERT_TRUE(st) << st.error().message();
	auto a = map->lookup_as<struct bpf_ctrl_xdp_attr>(idx);
	ASSERT_TRUE(a) << a.error().message();
	EXPECT_EQ(a->rx_channels, 2u) << "rx channels";
	EXPECT_EQ(a->tx_channels, 2u) << "tx channels";
	EXPECT_EQ(a->rings.num, 2u) << "rings.num reads back";
	EXPECT_EQ(a->tx_max, 4u) << "maximum = numtxqueues";
	EXPECT_FALSE(a->avail & BPF_CTRL_ATTR_RINGS) << "veth has no ring parameters: unavailable";
	EXPECT_EQ(a->redirect_target_ready, 1u) << "and the peer was made ready";
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlRedirect, ::testing::ValuesIn(ctl_backends()), ctl_backend_name);
