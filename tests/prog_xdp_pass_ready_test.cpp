// What xdp_pass is for: a veth is a working XDP_REDIRECT target only while its peer is ready.
// Frames redirected through a devmap into veth v0 (live test run) arrive on its peer v1, byte for
// byte, exactly when xdp_pass runs on v1 (which then counts them as XDP_PASS); without it they
// are lost.
#include <linux/if_link.h>

#include <gtest/gtest.h>

#include "monitor_trigger.skel.h"
#include "netns.hpp"
#include "prog_run.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;

namespace
{
class XdpPassReady : public NetnsTest
{
};
} // namespace

TEST_F(XdpPassReady, RedirectedFramesReachTheVethPeerOnlyWithXdpPassOnIt)
{
	constexpr uint32_t kFrames = 4;
	struct Row {
		const char *what;
		bool xdp_pass_on_peer;
		uint32_t arrive; // frames captured on the peer
	};
	const Row rows[] = {
	    {"peer without XDP: frames lost", false, 0},
	    {"peer runs xdp_pass: every frame arrives", true, kFrames},
	};
	auto redirect = xdpctl::open_and_load_skel<monitor_trigger>("monitor_trigger");
	ASSERT_TRUE(redirect) << "load monitor_trigger: " << redirect.error().message();

	int n = 0;
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		std::string name = "v" + std::to_string(n), peer = "w" + std::to_string(n);
		n++;
		auto v = add_veth(name, peer);
		ASSERT_GT(v.ifindex, 0) << "veth";
		xdpctl::Skel<xdp_pass> pass;
		if (row.xdp_pass_on_peer) {
			auto p = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
			ASSERT_TRUE(p) << "load xdp_pass";
			pass = std::move(*p);
			ASSERT_EQ(bpf_xdp_attach(v.peer_ifindex, bpf_program__fd(pass->progs.xdp_pass_prog),
						 XDP_FLAGS_DRV_MODE, nullptr),
				  0)
			    << "xdp_pass natively on " << peer;
		}
		struct bpf_devmap_val val {
		};
		val.ifindex = static_cast<uint32_t>(v.ifindex);
		uint32_t key = 0;
		ASSERT_EQ(
		    bpf_map__update_elem((*redirect)->maps.tx_port, &key, sizeof(key), &val, sizeof(val), 0),
		    0)
		    << "devmap entry -> " << name;

		Capture cap(peer, kEthTest);
		auto frame = Packet().eth(v.peer_mac, v.mac).payload(64, static_cast<uint8_t>(n)).build();
		auto r = run_xdp((*redirect)->progs.monitor_redirect_devmap, frame,
				 {.repeat = kFrames, .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";

		// the frames are queued to the peer's NAPI by the end of the run; drain() waits for them
		auto got = cap.drain();
		ASSERT_EQ(got.size(), row.arrive) << "frames on " << peer;
		for (const auto &f : got)
			EXPECT_EQ(f, frame) << "frame arrived unchanged: " << hex(f);
		if (pass) {
			auto c = read_action_stats(pass->maps.xdpctl_stats);
			EXPECT_EQ(c[XDP_PASS].packets, kFrames) << "xdp_pass counted every frame";
			EXPECT_EQ(c[XDP_PASS].bytes, kFrames * frame.size()) << "xdp_pass counted every byte";
			bpf_xdp_detach(v.peer_ifindex, XDP_FLAGS_DRV_MODE, nullptr);
		}
	}
}
