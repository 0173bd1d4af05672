// SETUP_MD: `on` attaches the device-bound metadata program (xdp_meta_kfunc) through the loader,
// pinned so that it outlives the process that asked, and `off` removes it and its pins. Checked
// with real frames: tc_meta_consumer at the same veth's TC ingress counts frames with our
// metadata while it is on and frames without it before and after; XDP_MD reports the program,
// its BTF object and the type id of struct xdpctl_meta in it. Then bad input, one row each: its
// errno, and XDP_MD, XDP_ATTR and the pins unchanged.
//
// Binding a program to a device and removing the device oopsed the 6.18 host once: the live
// tests run in the qemu lane (XT_REQUIRE_DEVBOUND_LIVE); bad input that binds nothing runs here.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/if_link.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "kernel.hpp"
#include "kmod/ctl_backend.hpp"
#include "meta_ref.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "tc_meta_consumer.skel.h"
#include "traffic.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/skeleton.hpp"
#include "xdpctl/tc.hpp"

using namespace xt;
using namespace xdpctl;
namespace fs = std::filesystem;

namespace {

struct bpf_ctrl_xdp_md md_cmd(uint32_t enable)
{
	struct bpf_ctrl_xdp_md v {};
	v.command = BPF_CTRL_SETUP_MD;
	v.enable_md = enable;
	return v;
}

const std::string kBin = XDPCTL_BIN;

} // namespace

// Parameterized over the backend (kmod/ctl_backend.hpp). A veth md0/md1 in the test namespace;
// frames are sent out of md1 and arrive on md0, where the metadata program and the consumer sit.
// Pins go under a bpffs root of the test's own (XDPCTL_BPFFS), removed in TearDown.
class CtlMd : public NetnsTest, public ::testing::WithParamInterface<ctl::BackendChoice> {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		XT_REQUIRE_CTL_BACKEND(GetParam());
		root_ = "/sys/fs/bpf/xdpctl-ctlmd-" + std::to_string(getpid());
		setenv("XDPCTL_BPFFS", root_.c_str(), 1);
		v_ = add_veth("md0", "md1");
		auto m = ctl::ControlMap::create(BPF_CTRL_XDP_MD, GetParam());
		ASSERT_TRUE(m) << m.error().message();
		md_ = std::make_unique<ctl::ControlMap>(std::move(*m));
		auto a = ctl::ControlMap::create(BPF_CTRL_XDP_ATTR, GetParam());
		ASSERT_TRUE(a) << a.error().message();
		attr_ = std::make_unique<ctl::ControlMap>(std::move(*a));
	}
	void TearDown() override
	{
		// a test that failed while metadata was on: the device goes first, with the program
		// still alive (see MetaKfuncLive in live_meta_test.cpp), then the pins
		if (v_.ifindex && fs::exists(link_pin()))
			must("ip link del md0");
		md_.reset();
		attr_.reset();
		std::error_code ec;
		if (!root_.empty())
			fs::remove_all(root_, ec);
		unsetenv("XDPCTL_BPFFS");
		NetnsTest::TearDown();
	}

	std::string if_dir()
	{
		auto l = current_layout();
		return (l ? l->ns_dir() : root_) + "/if" + std::to_string(v_.ifindex);
	}
	std::string link_pin() { return if_dir() + "/link"; }

	struct bpf_ctrl_xdp_md md_now()
	{
		auto v = md_->lookup_as<struct bpf_ctrl_xdp_md>(v_.ifindex);
		EXPECT_TRUE(v) << v.error().message();
		return v ? *v : bpf_ctrl_xdp_md{};
	}

	// The frames sent out of md1 that the consumer on md0 counted (with, without metadata).
	std::pair<uint64_t, uint64_t> send_and_count(const Skel<tc_meta_consumer> &c, int n)
	{
		auto before_with = percpu_u64(bpf_map__fd(c->maps.consumer_counters), XDPCTL_CONSCNT_WITH_META);
		auto before_no = percpu_u64(bpf_map__fd(c->maps.consumer_counters), XDPCTL_CONSCNT_NO_META);
		auto frame = Packet()
				     .eth(v_.mac, v_.peer_mac)
				     .ipv4("10.78.0.2", "10.78.0.1")
				     .udp(4000, 4001)
				     .payload(32)
				     .build();
		EXPECT_EQ(send_frames("md1", frame, n), n) << "frames sent out of md1";
		uint64_t with = 0, no = 0;
		// veth receives in NAPI: wait until the consumer has seen every frame
		for (int i = 0; i < 100 && with + no < static_cast<uint64_t>(n); i++) {
			usleep(10000);
			with = percpu_u64(bpf_map__fd(c->maps.consumer_counters), XDPCTL_CONSCNT_WITH_META) - before_with;
			no = percpu_u64(bpf_map__fd(c->maps.consumer_counters), XDPCTL_CONSCNT_NO_META) - before_no;
		}
		return {with, no};
	}

	std::string root_;
	VethPair v_;
	std::unique_ptr<ctl::ControlMap> md_, attr_;
};

class CtlMdLive : public CtlMd {
protected:
	void SetUp() override
	{
		XT_REQUIRE_KERNEL(6, 3, "RX metadata kfuncs and device-bound programs");
		XT_REQUIRE_DEVBOUND_LIVE();
		CtlMd::SetUp();
	}
};

TEST_P(CtlMdLive, OnDeliversMetadataToTheTcConsumerAndOffStopsIt)
{
	auto c = open_and_load_skel<tc_meta_consumer>("tc_meta_consumer");
	ASSERT_TRUE(c) << c.error().message();
	auto tc = TcFilter::attach(v_.ifindex, BPF_TC_INGRESS, bpf_program__fd((*c)->progs.tc_meta_consumer));
	ASSERT_TRUE(tc) << "consumer on md0 ingress: " << tc.error().message();
	const int n = 8;

	auto off = md_now();
	ASSERT_TRUE(off.avail & BPF_CTRL_MD_STATE) << "metadata state known";
	EXPECT_EQ(off.enable_md, 0u) << "off at first";
	EXPECT_EQ(send_and_count(*c, n), std::make_pair(uint64_t{0}, uint64_t{n})) << "off: frames without metadata";

	// on, from another process (the CLI): the pinned link keeps it attached after that exits
	std::string out;
	ASSERT_EQ(sh(kBin + " ctl --backend " + (GetParam() == ctl::BackendChoice::Kernel ? "kernel" : "user") +
			     " setup-md md0 on 2>&1",
		     &out),
		  0)
		<< out;
	EXPECT_TRUE(fs::exists(link_pin())) << "the link is pinned: " << link_pin();
	auto on = md_now();
	uint32_t drv_id = 0;
	ASSERT_EQ(bpf_xdp_query_id(v_.ifindex, XDP_FLAGS_DRV_MODE, &drv_id), 0) << "rtnetlink query";
	EXPECT_EQ(on.enable_md, 1u) << "on after the CLI exited";
	EXPECT_EQ(on.prog_id, drv_id) << "prog_id is the native program rtnetlink reports";
	EXPECT_EQ(on.md_size, sizeof(struct xdpctl_meta)) << "md_size";
	struct bpf_prog_info info {};
	uint32_t len = sizeof(info);
	{
		xdpctl::Fd pfd(bpf_prog_get_fd_by_id(drv_id));
		ASSERT_TRUE(pfd) << "open program " << drv_id;
		ASSERT_EQ(bpf_obj_get_info_by_fd(pfd.get(), &info, &len), 0) << "program info";
	}
	EXPECT_EQ(on.md_btf_obj_id, info.btf_id) << "md_btf_obj_id is the program's BTF object";
	struct btf *b = btf__load_from_kernel_by_id(info.btf_id);
	ASSERT_TRUE(b) << "BTF object " << info.btf_id;
	int want_type = btf__find_by_name_kind(b, "xdpctl_meta", BTF_KIND_STRUCT);
	ASSERT_GT(want_type, 0) << "the program's BTF names struct xdpctl_meta";
	EXPECT_EQ(on.md_btf_type_id, static_cast<uint32_t>(want_type)) << "struct xdpctl_meta in that BTF";
	EXPECT_EQ(btf__type_by_id(b, want_type)->size, sizeof(struct xdpctl_meta)) << "its size";
	btf__free(b);
	ASSERT_TRUE(on.avail & BPF_CTRL_MD_FEATURES) << "rx metadata features known (6.3+)";
	EXPECT_TRUE(on.rx_metadata_features & NETDEV_XDP_RX_METADATA_HASH) << "veth delivers the RX hash";
	EXPECT_TRUE(on.rx_metadata_features & NETDEV_XDP_RX_METADATA_TIMESTAMP) << "and the RX timestamp";
	EXPECT_EQ(send_and_count(*c, n), std::make_pair(uint64_t{n}, uint64_t{0})) << "on: every frame has metadata";

	auto st = md_->update_as(v_.ifindex, md_cmd(1));
	ASSERT_FALSE(st) << "on twice";
	EXPECT_EQ(st.error().err, EALREADY) << st.error().message();
	EXPECT_EQ(md_now().prog_id, on.prog_id) << "on twice: the same program stays";

	st = md_->update_as(v_.ifindex, md_cmd(0));
	ASSERT_TRUE(st) << "off: " << st.error().message();
	auto again = md_now();
	EXPECT_EQ(again.enable_md, 0u) << "off";
	EXPECT_EQ(again.prog_id, 0u) << "no program";
	EXPECT_EQ(bpf_xdp_query_id(v_.ifindex, XDP_FLAGS_DRV_MODE, &drv_id), 0);
	EXPECT_EQ(drv_id, 0u) << "rtnetlink: nothing attached";
	EXPECT_FALSE(fs::exists(if_dir())) << "off removed the pins: " << if_dir();
	EXPECT_EQ(send_and_count(*c, n), std::make_pair(uint64_t{0}, uint64_t{n})) << "off again: no metadata";
}

// Bad input that binds nothing: one row each, errno, and nothing changed.
TEST_P(CtlMd, BadInputGivesItsErrnoAndChangesNothing)
{
	auto good = md_cmd(1);
	struct Row {
		const char *what;
		int err;
		std::function<Status()> call;
	};
	const Row rows[] = {
		{"unknown command (SETUP_REDIRECT on XDP_MD)", EINVAL,
		 [&] {
			 auto v = md_cmd(1);
			 v.command = BPF_CTRL_SETUP_REDIRECT;
			 return md_->update_as(v_.ifindex, v);
		 }},
		{"unknown command 9", EINVAL,
		 [&] {
			 auto v = md_cmd(1);
			 v.command = 9;
			 return md_->update_as(v_.ifindex, v);
		 }},
		{"value one byte short", EINVAL,
		 [&] { return md_->update(v_.ifindex, std::as_bytes(std::span(&good, 1)).first(sizeof(good) - 1)); }},
		{"enable_md neither 0 nor 1", EINVAL, [&] { return md_->update_as(v_.ifindex, md_cmd(3)); }},
		{"an ifindex that does not exist", ENOENT, [&] { return md_->update_as(999999, md_cmd(1)); }},
		{"off when metadata is not on", EALREADY, [&] { return md_->update_as(v_.ifindex, md_cmd(0)); }},
	};
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		auto md_before = md_->lookup(v_.ifindex);
		auto attr_before = attr_->lookup(v_.ifindex);
		ASSERT_TRUE(md_before && attr_before) << "lookups";
		auto st = row.call();
		ASSERT_FALSE(st) << "must fail";
		EXPECT_EQ(st.error().err, row.err) << "errno; message: " << st.error().message();
		EXPECT_FALSE(st.error().message().empty()) << "a clear message";
		auto md_after = md_->lookup(v_.ifindex);
		auto attr_after = attr_->lookup(v_.ifindex);
		ASSERT_TRUE(md_after && attr_after) << "lookups after";
		EXPECT_EQ(*md_after, *md_before) << "XDP_MD unchanged";
		EXPECT_EQ(*attr_after, *attr_before) << "XDP_ATTR unchanged";
		EXPECT_FALSE(fs::exists(if_dir())) << "no pins";
	}
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlMd, ::testing::ValuesIn(ctl_backends()), ctl_backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, CtlMdLive, ::testing::ValuesIn(ctl_backends()), ctl_backend_name);
