// Both control map backends give the same answers on the same devices: in one namespace with
// veths (one running xdp_pass loaded by the loader, frames sent through it), lo and the module's
// control netdevs, the user-space backend (netlink + pinned maps) and the kernel backend
// (bpf_ctlmap) walk the same keys and, for every netdev and control type, return the same value
// in every field both can read. Where only one side can read an attribute, that is listed below
// with the reason, and nothing else may differ:
//
//   XDP_STATS qstats           user space only: netdev genl qstats-get (6.10+, drivers with
//                              queue stats); the module does not read per-queue stats
//   XDP_ATTR  redirect_target  kernel only, on non-veth devices before 6.3: the module sees
//                              that ndo_xdp_xmit is missing, user space needs netdev genl's
//                              xdp-features (6.3+) to know
//   XDP_MD    rx_md_features   kernel only before 6.8: the module reads xdp_metadata_ops (6.3+),
//                              netdev genl reports xdp-rx-metadata-features from 6.8
//
// Both answer get_next_key of a key no netdev has with the first key and of the last with ENOENT.
// Also `xdpctl ctl` names the backend that answered. Runs in the lane (kmod_agree_test), where
// the module is loaded; its absence there is a failure.
#include <linux/if_link.h>
#include <net/if.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ctl_backend.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "traffic.hpp"
#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/loader.hpp"

using namespace xt;
using namespace xdpctl;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kBin = XDPCTL_BIN;

std::vector<uint32_t> walk(ctl::ControlMap &m)
{
	std::vector<uint32_t> keys;
	uint32_t key = 0, next = 0;
	const uint32_t *cur = nullptr;
	while (m.get_next_key(cur, &next) && keys.size() < 4096) {
		keys.push_back(next);
		key = next;
		cur = &key;
	}
	return keys;
}

class CtlAgree : public NetnsTest {
protected:
	void SetUp() override
	{
		ASSERT_TRUE(kernel_has_module_btf("bpf_ctlmap"))
			<< "bpf_ctlmap is not loaded: this binary runs in the qemu lane (kmod/run-lane.sh)";
		NetnsTest::SetUp();
		root_ = "/sys/fs/bpf/xdpctl-agree-" + std::to_string(getpid());
		setenv("XDPCTL_BPFFS", root_.c_str(), 1);
	}
	void TearDown() override
	{
		NetnsTest::TearDown(); // the namespace and its devices first: the links go with them
		std::error_code ec;
		fs::remove_all(root_, ec);
		unsetenv("XDPCTL_BPFFS");
	}
	std::string root_;
};

} // namespace

TEST_F(CtlAgree, BothBackendsAnswerTheSameOnTheSameDevices)
{
	ASSERT_TRUE(must("ip link add ag0 numtxqueues 4 numrxqueues 4 type veth peer name ag1 numtxqueues 4 numrxqueues 4"));
	ASSERT_TRUE(must("ip link set ag0 up") && must("ip link set ag1 up"));
	auto plain = add_veth("ag2", "ag3");
	auto loaded = load(LoadRequest{.program = {"xdp_pass", ""}, .interfaces = {"ag1"}});
	ASSERT_TRUE(loaded) << "xdpctl load xdp_pass ag1: " << loaded.error().message();
	auto frame = Packet().eth(mac_of("ag1"), mac_of("ag0")).pad_to(200).build();
	ASSERT_EQ(send_frames("ag0", frame, 12), 12) << "frames through xdp_pass on ag1";
	ASSERT_EQ(send_frames(plain.name, frame, 3), 3) << "frames on the plain pair";
	usleep(200000); // veth receives in NAPI; after this the namespace is quiet

	for (uint32_t type : {BPF_CTRL_XDP_STATS, BPF_CTRL_XDP_ATTR, BPF_CTRL_XDP_MD}) {
		SCOPED_TRACE(ctl::ctrl_type_name(type));
		auto u = ctl::ControlMap::create(type, ctl::BackendChoice::User);
		auto k = ctl::ControlMap::create(type, ctl::BackendChoice::Kernel);
		ASSERT_TRUE(u) << u.error().message();
		ASSERT_TRUE(k) << k.error().message();
		auto keys = walk(*u);
		EXPECT_EQ(walk(*k), keys) << "the same netdevs in the same order";
		ASSERT_EQ(keys.size(), 8u) << "lo, four veths, three control netdevs";
		// the same answer to a key no netdev has (both start over) and to the last key (ENOENT)
		for (uint32_t missing : {keys.back() + 1000, 0u}) {
			uint32_t un = 0, kn = 0;
			auto us = u->get_next_key(&missing, &un);
			auto ks = k->get_next_key(&missing, &kn);
			ASSERT_TRUE(us && ks) << "get_next_key from ifindex " << missing << " that no netdev has";
			EXPECT_EQ(un, keys.front()) << "user space starts over from " << missing;
			EXPECT_EQ(kn, keys.front()) << "the module starts over from " << missing;
		}
		uint32_t un = 0, kn = 0;
		auto ue = u->get_next_key(&keys.back(), &un), ke = k->get_next_key(&keys.back(), &kn);
		ASSERT_FALSE(ue) << "user space: nothing after the last key, got " << un;
		ASSERT_FALSE(ke) << "the module: nothing after the last key, got " << kn;
		EXPECT_EQ(ue.error().err, ENOENT) << ue.error().message();
		EXPECT_EQ(ke.error().err, ENOENT) << ke.error().message();

		for (uint32_t ifindex : keys) {
			char name[IF_NAMESIZE] = {};
			if_indextoname(ifindex, name);
			SCOPED_TRACE(name);
			auto uv = u->lookup(ifindex);
			auto kv = k->lookup(ifindex);
			ASSERT_TRUE(uv) << uv.error().message();
			ASSERT_TRUE(kv) << kv.error().message();
			bool veth = std::string(name).starts_with("ag");
			uint32_t ua = ctl_avail_of(*uv), ka = ctl_avail_of(*kv);
			EXPECT_EQ(ua & ~ka & ~ctl_user_only(type), 0u) << "avail bits only user space has: " << (ua & ~ka);
			EXPECT_EQ(ka & ~ua & ~ctl_kernel_only(type, veth), 0u) << "avail bits only the module has: " << (ka & ~ua);

			// every field both can read, through the value's BTF (each backend's own)
			auto uj = ctl::btf_to_json(u->btf(), u->value_type_id(), *uv);
			auto kj = ctl::btf_to_json(k->btf(), k->value_type_id(), *kv);
			ASSERT_TRUE(uj && kj) << "values to JSON";
			ctl::null_unavailable(*uj, type, ua & ka);
			ctl::null_unavailable(*kj, type, ua & ka);
			uj->erase("avail");
			kj->erase("avail");
			EXPECT_EQ(*uj, *kj) << "user space:\n" << uj->dump(1) << "\nkernel:\n" << kj->dump(1);
		}
	}

	// the devices the test set up are what both read: the fields that say so are there
	auto k = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, ctl::BackendChoice::Kernel);
	ASSERT_TRUE(k) << k.error().message();
	auto s = k->lookup_as<struct bpf_ctrl_xdp_stats>(if_nametoindex("ag1"));
	ASSERT_TRUE(s) << s.error().message();
	ASSERT_TRUE(s->avail & BPF_CTRL_STATS_XDP_ACTIONS) << "kernel backend: xdp_pass's pinned counters";
	EXPECT_EQ(s->xdp[XDP_PASS].packets, 12u) << "XDP_PASS packets through the kernel backend";
	EXPECT_EQ(s->rx_packets, 12u) << "rx packets";
	auto a = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, ctl::BackendChoice::Kernel);
	ASSERT_TRUE(a) << a.error().message();
	auto at = a->lookup_as<struct bpf_ctrl_xdp_attr>(if_nametoindex("ag0"));
	ASSERT_TRUE(at) << at.error().message();
	EXPECT_EQ(at->redirect_target_ready, 1u) << "ag0's peer runs xdp_pass natively: ready";
	EXPECT_EQ(at->tx_max, 4u) << "channels read";
}

TEST_F(CtlAgree, AutoPicksTheKernelBackendAndTheCliSaysSo)
{
	auto m = ctl::ControlMap::create(BPF_CTRL_XDP_STATS);
	ASSERT_TRUE(m) << m.error().message();
	EXPECT_NE(m->backend_name().find("kernel"), std::string::npos) << "auto with the module loaded";

	struct Row {
		const char *args;
		const char *backend; // in the output
	};
	for (auto row : {Row{"ctl stats -j", "kernel"}, Row{"ctl --backend kernel attr -j", "kernel"},
			 Row{"ctl --backend user md -j", "user-space"}}) {
		SCOPED_TRACE(row.args);
		std::string out;
		ASSERT_EQ(sh(kBin + " " + row.args, &out), 0) << out;
		auto j = json::parse(out, nullptr, false);
		ASSERT_TRUE(j.is_object()) << out;
		EXPECT_NE(j["backend"].get<std::string>().find(row.backend), std::string::npos) << j["backend"];
		EXPECT_EQ(j["netdevs"].size(), 4u) << "lo and the three control netdevs";
	}
	std::string text;
	ASSERT_EQ(sh(kBin + " ctl stats", &text), 0) << text;
	EXPECT_NE(text.find("from the kernel (bpf_ctlmap module) backend"), std::string::npos) << text;
}
