// `xdpctl ctl` as an operator runs it, inside a test namespace: JSON that names the backend and
// agrees with `ip -s -j link`, text from BTF, rates with -i, SETUP_REDIRECT, and one clear line
// with a non-zero exit for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bpffs_dir.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
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

// docs/cli.md's contract: exit 1 when the system refuses, 2 when the command line is wrong; one
// line on stderr naming the verb, nothing on stdout; with -j the same, plus that line as one
// compact JSON object on stdout. Nothing is changed on the device either way.
TEST_F(CtlCli, BadInputIsOneClearLineAndFailure)
{
	add_veth("ce0", "ce1");
	struct Row {
		const char *what, *args;
		int rc;
		const char *says;
	};
	const Row rows[] = {
		{"unknown interface", "ctl stats nosuchif", 1, "xdpctl ctl stats: "},
		{"unknown interface, attr", "ctl attr nosuchif", 1, "no such interface"},
		{"unknown interface, rates", "ctl stats nosuchif -i 0.1 -c 1", 1, "no such interface"},
		{"ring size veth refuses", "ctl setup-redirect ce0 --ring-size 256", 1, "no ring parameters"},
		{"too many channels", "ctl setup-redirect ce0 --rings 64", 1, "over the maximum"},
		{"setup-md neither on nor off", "ctl setup-md ce0 maybe", 2, "say on or off"},
		{"setup-md without a state", "ctl setup-md ce0", 2, "STATE is required"},
		{"setup-redirect without an interface", "ctl setup-redirect", 2, "IFNAME is required"},
		{"unknown backend", "ctl --backend magic stats", 2, "magic"},
		{"no ctl subcommand", "ctl", 2, "subcommand is required"},
		{"unknown ctl subcommand", "ctl frobnicate", 2, "unknown verb 'frobnicate'"},
		{"interval not positive", "ctl stats -i -1", 2, "--interval: '-1' is not an interval: give seconds, 0.01 to 86400"},
		{"interval zero (once a 300-digit range)", "ctl stats -i 0", 2, "'0' is not an interval"},
		{"count zero", "ctl stats -i 1 -c 0", 2, "--count: '0' is not a count: give 1 or more"},
		{"count negative", "ctl stats -i 1 -c -3", 2, "'-3' is not a count"},
	};
	// in the lane: the refusals the kernel decides (exit 1: unknown interface, a veth's rings and
	// channels), without the -j repeat; the usage errors (exit 2) and the JSON are user space
	const bool lane = in_lane();
	size_t left = 0;
	// each row's "after" is the next row's "before" (asserted equal to the one before it)
	std::string before;
	ASSERT_EQ(sh("ip -d link show ce0", &before), 0);
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		if (lane && r.rc == 2) {
			left += 2;
			continue;
		}
		auto res = run_cmd(kBin + " " + r.args);
		EXPECT_EQ(res.rc, r.rc) << "exit code; stderr: " << res.err;
		EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << "one line on stderr: " << res.err;
		EXPECT_EQ(res.err.rfind("xdpctl ctl", 0), 0u) << "the line names the verb: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_TRUE(res.out.empty()) << "nothing on stdout: " << res.out;

		if (lane) {
			left++;
		} else {
			auto js = run_cmd(kBin + " " + r.args + " -j");
			EXPECT_EQ(js.rc, r.rc) << "the same exit code with -j";
			EXPECT_EQ(js.err, res.err) << "the same line on stderr with -j";
			expect_json_error(js.out, r.rc, "");
			auto j = json::parse(js.out, nullptr, false);
			EXPECT_NE(res.err.find(j.value("error", std::string("(none)"))), std::string::npos)
				<< "JSON error is the stderr line's: " << js.out;
		}

		std::string after;
		ASSERT_EQ(sh("ip -d link show ce0", &after), 0);
		EXPECT_EQ(after, before) << "ce0 unchanged";
		before = after;
	}
	lane_left_to_host(left, "runs (usage errors and -j repeats)");
}
