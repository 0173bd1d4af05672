// xdpctl features IFNAME as a user runs it, on a veth of a test namespace. The reference is the
// kernel's own answer: the netdev genl family queried here (libxdpctl's netlink layer), decoded
// with the bit names of the family's spec written out below, so a wrong name or a dropped bit in
// the CLI shows. On a kernel without the family (6.1) every netdev field must say so.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "bpffs_dir.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "xdpctl_fixture.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/nl.hpp"

using namespace xt;
using nlohmann::json;

namespace {

// Documentation/netlink/specs/netdev.yaml
const std::vector<std::pair<uint64_t, std::string>> kXdpAct = {
	{1, "basic"}, {2, "redirect"}, {4, "ndo-xmit"}, {8, "xsk-zerocopy"}, {16, "hw-offload"}, {32, "rx-sg"}, {64, "ndo-xmit-sg"}};
const std::vector<std::pair<uint64_t, std::string>> kRxMeta = {{1, "timestamp"}, {2, "hash"}, {4, "vlan-tag"}};

json names(uint64_t bits, const std::vector<std::pair<uint64_t, std::string>> &table)
{
	json a = json::array();
	for (const auto &[bit, name] : table)
		if (bits & bit)
			a.push_back(name);
	return a;
}

bool has(const json &arr, const std::string &name)
{
	return std::find(arr.begin(), arr.end(), name) != arr.end();
}
} // namespace

class CliFeatures : public XdpctlNetnsTest {
protected:
	void SetUp() override
	{
		XdpctlNetnsTest::SetUp();
		if (HasFatalFailure())
			return;
		add_veth("fa0", "fb0");
	}
	// The kernel's dev-get for fa0; nullopt when the netdev family is absent.
	std::optional<xdpctl::nl::NetdevDev> kernel_says()
	{
		auto g = xdpctl::nl::Genl::open();
		EXPECT_TRUE(g) << "genl socket";
		if (!g || !g->family(NETDEV_FAMILY_NAME))
			return std::nullopt;
		auto d = g->netdev_dev_get(static_cast<uint32_t>(ifindex_of("fa0")));
		EXPECT_TRUE(d) << "dev-get fa0: " << (d ? "" : d.error().message());
		return d ? std::optional(*d) : std::nullopt;
	}
};

TEST_F(CliFeatures, JsonMatchesWhatTheKernelReports)
{
	auto r = xdpctl("features fa0 -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto j = json::parse(r.out, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << "JSON: " << r.out;
	EXPECT_EQ(j.at("ifname"), "fa0");
	EXPECT_EQ(j.at("ifindex"), ifindex_of("fa0"));
	auto dev = kernel_says();
	if (!dev) {
		for (const char *f : {"xdp-features", "xdp-zc-max-segs", "xdp-rx-metadata-features", "xsk-features"}) {
			EXPECT_TRUE(j.at(f).is_null()) << f << " is not invented";
			EXPECT_EQ(j.at("unavailable").at(f), "kernel has no netdev genl family") << f;
		}
		return;
	}
	EXPECT_EQ(j.at("xdp-features"), names(dev->xdp_features, kXdpAct)) << "xdp-features as the kernel said";
	// what a veth always does (drivers/net/veth.c: basic, redirect, rx-sg)
	for (const char *f : {"basic", "redirect", "rx-sg"})
		EXPECT_TRUE(has(j.at("xdp-features"), f)) << "veth has " << f;
	EXPECT_FALSE(has(j.at("xdp-features"), "hw-offload")) << "veth offloads nothing";
	EXPECT_TRUE(j.at("xdp-zc-max-segs").is_null()) << "veth has no AF_XDP zero-copy";
	if (dev->has_xdp_rx_metadata_features) {
		EXPECT_EQ(j.at("xdp-rx-metadata-features"), names(dev->xdp_rx_metadata_features, kRxMeta));
		// veth implements the timestamp and hash kfuncs (veth_xdp_metadata_ops)
		EXPECT_TRUE(has(j.at("xdp-rx-metadata-features"), "timestamp")) << r.out;
		EXPECT_TRUE(has(j.at("xdp-rx-metadata-features"), "hash")) << r.out;
	} else {
		EXPECT_TRUE(j.at("xdp-rx-metadata-features").is_null()) << "not invented";
		EXPECT_FALSE(j.at("unavailable").at("xdp-rx-metadata-features").get<std::string>().empty());
	}
	EXPECT_EQ(j.at("programs"), json::array()) << "nothing attached yet";
}

TEST_F(CliFeatures, AttachedProgramAndItsModeAreShown)
{
	auto l = xdpctl("load xdp_pass fa0");
	ASSERT_EQ(l.rc, 0) << l.err;
	auto j = json::parse(xdpctl("features fa0 -j").out, nullptr, false);
	ASSERT_FALSE(j.is_discarded());
	ASSERT_EQ(j.at("programs").size(), 1u) << j.dump();
	EXPECT_EQ(j["programs"][0].at("mode"), "native");
	EXPECT_EQ(j["programs"][0].at("name"), "xdp_pass_prog");
	EXPECT_GT(j["programs"][0].at("prog_id").get<int>(), 0);

	auto t = xdpctl("features fa0");
	ASSERT_EQ(t.rc, 0) << t.err;
	for (const char *row : {"fa0 (ifindex", "xdp-features", "xdp-rx-metadata-features", "xsk-features",
				"native xdp_pass_prog (id", "rings", "channels"})
		EXPECT_NE(t.out.find(row), std::string::npos) << "text has " << row << ": " << t.out;
}

TEST_F(CliFeatures, BadInputsFailWithOneLine)
{
	struct Row {
		const char *what, *args;
		int rc;
		const char *says;
	};
	for (const Row &r : {Row{"unknown interface", "features nosuchif0", 1, "not found in this network namespace"},
			     Row{"no interface", "features", 2, "IFNAME"}}) {
		SCOPED_TRACE(r.what);
		// in the lane the kernel's answer only: no usage error (exit 2), no -j repeat (xt::in_lane())
		if (in_lane() && r.rc == 2) {
			lane_left_to_host(2, "runs (a usage error and its -j repeat)");
			continue;
		}
		auto res = xdpctl(r.args);
		EXPECT_EQ(res.rc, r.rc) << res.err;
		EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << res.err;
		EXPECT_TRUE(res.out.empty()) << res.out;
		if (in_lane()) {
			lane_left_to_host(1, "run (the -j repeat)");
			continue;
		}
		auto js = xdpctl(std::string(r.args) + " -j");
		EXPECT_EQ(js.rc, r.rc) << "the same exit code with -j";
		EXPECT_EQ(js.err, res.err) << "the same line on stderr with -j";
		expect_json_error(js.out, r.rc, r.says);
	}
}
