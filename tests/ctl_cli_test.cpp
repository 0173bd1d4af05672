// `xdpctl ctl` as an operator runs it, inside a test namespace: JSON that names the backend and
// agrees with `ip -s -j link`, text from BTF, rates with -i, SETUP_REDIRECT, and one clear line
// with a non-zero exit for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netns.hpp"
#include "traffic.hpp"

using namespace xt;
using nlohmann::json;

class CtlCli : public NetnsTest {};

namespace {
const std::string kBin = XDPCTL_BIN;
}

TEST_F(CtlCli, StatsJsonNamesTheBackendAndAgreesWithIp)
{
	auto v = add_veth("cl0", "cl1");
	auto frame = Packet().eth(v.peer_mac, v.mac).pad_to(100).build();
	ASSERT_EQ(send_frames("cl0", frame, 5), 5) << "frames sent";
	std::string out;
	ASSERT_EQ(sh(kBin + " ctl stats -j", &out), 0) << out;
	auto j = json::parse(out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << "JSON: " << out;
	EXPECT_EQ(j["type"], "XDP_STATS") << "control type";
	EXPECT_NE(j["backend"].get<std::string>().find("user-space"), std::string::npos) << "says which backend";
	std::vector<std::string> names;
	std::vector<uint32_t> order;
	json cl0;
	for (auto &n : j["netdevs"]) {
		names.push_back(n["ifname"]);
		order.push_back(n["ifindex"]);
		if (n["ifname"] == "cl0")
			cl0 = n;
	}
	std::sort(names.begin(), names.end());
	EXPECT_EQ(names, (std::vector<std::string>{"cl0", "cl1", "lo"})) << "every netdev of the namespace";
	EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << "ascending ifindex";
	ASSERT_TRUE(cl0.is_object()) << "cl0 listed";
	auto ip = ip_link_stats("cl0");
	ASSERT_TRUE(ip);
	EXPECT_EQ(cl0["value"]["tx_packets"], ip->tx_packets) << "tx packets as ip -s says";
	EXPECT_EQ(cl0["value"]["tx_packets"], 5) << "the five frames sent";
	EXPECT_EQ(cl0["value"]["tx_bytes"], ip->tx_bytes) << "tx bytes as ip -s says";
	EXPECT_EQ(cl0["unavailable"].size(), 3u) << "xdp_actions, xdp_errors, qstats unavailable: " << cl0;
	cl0 = cl0["value"];
	EXPECT_TRUE(cl0["xdp"].is_null()) << "no program attached: per-action counters null, not 0";
}

TEST_F(CtlCli, TextAttrRatesAndSetupRedirect)
{
	add_veth("ct0", "ct1");
	std::string out;
	ASSERT_EQ(sh(kBin + " ctl attr ct0", &out), 0) << out;
	EXPECT_NE(out.find("XDP_ATTR from the user-space"), std::string::npos) << "backend named: " << out;
	EXPECT_NE(out.find(".redirect_target_ready = (__u32)0"), std::string::npos) << "BTF text: " << out;
	auto na = out.find("unavailable (shown as 0 above, not a value): ");
	ASSERT_NE(na, std::string::npos) << "an unavailable line: " << out;
	std::string na_line = out.substr(na, out.find('\n', na) - na);
	EXPECT_NE(na_line.find("rings"), std::string::npos) << "veth rings marked unavailable: " << na_line;
	EXPECT_EQ(na_line.find("channels"), std::string::npos) << "veth channels are available: " << na_line;

	ASSERT_EQ(sh(kBin + " ctl setup-redirect ct0", &out), 0) << out;
	EXPECT_NE(out.find("redirect target ready"), std::string::npos) << out;

	ASSERT_EQ(sh(kBin + " ctl stats ct0 -j -i 0.2 -c 2", &out), 0) << out;
	int lines = 0;
	std::istringstream in(out);
	for (std::string l; std::getline(in, l); lines++) {
		auto j = json::parse(l, nullptr, false);
		ASSERT_TRUE(j.is_object()) << "one JSON object per interval: " << l;
		EXPECT_TRUE(j["netdevs"][0]["rates"].contains("rx_packets")) << "a rate per counter: " << l;
	}
	EXPECT_EQ(lines, 2) << "-c 2: two intervals";
}

TEST_F(CtlCli, BadInputIsOneClearLineAndFailure)
{
	add_veth("ce0", "ce1");
	struct Row {
		const char *what, *args, *says;
	};
	const Row rows[] = {
		{"unknown interface", "ctl stats nosuchif", "no such interface"},
		{"ring size veth refuses", "ctl setup-redirect ce0 --ring-size 256", "no ring parameters"},
		{"too many channels", "ctl setup-redirect ce0 --rings 64", "over the maximum"},
		{"setup-md neither on nor off", "ctl setup-md ce0 maybe", "say on or off"},
	};
	for (const auto &r : rows) {
		std::string out;
		EXPECT_NE(sh(kBin + " " + r.args, &out), 0) << r.what << ": non-zero exit";
		EXPECT_NE(out.find(r.says), std::string::npos) << r.what << ": message: " << out;
		EXPECT_EQ(out.rfind("xdpctl: ", 0), 0u) << r.what << ": one line starting xdpctl: " << out;
	}
}
