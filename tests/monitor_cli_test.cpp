// `xdpctl monitor start|show|stop` as an operator runs it in a test namespace: the monitor keeps
// counting after the command exits (its links and maps are pinned), `show` and the control map's
// XDP_STATS read the same counts, `stop` leaves no pin behind, and misuse is one line and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"
#include "cli_json.hpp"
#include "monitor_trigger.skel.h"
#include "netns.hpp"
#include "prog_run.hpp"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using nlohmann::json;

namespace {

const std::string kBin = XDPCTL_BIN;
constexpr uint32_t kFrames = 8;
constexpr uint32_t kNoSuchIfindex = 4242;

class MonitorCli : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		fs_ = std::make_unique<BpffsDir>();
		ASSERT_TRUE(fs_->ok()) << "mount a private bpffs (it sets XDPCTL_BPFFS)";
	}
	void TearDown() override
	{
		sh(kBin + " monitor stop"); // a failed test must not leave tracepoints attached
		fs_.reset();
		NetnsTest::TearDown();
	}
	// What is under ROOT (bpffs' own progs.debug/maps.debug aside).
	std::vector<std::string> pins() const { return tree(fs_->root()); }
	std::unique_ptr<BpffsDir> fs_;
};

bool has(const std::vector<std::string> &v, const std::string &s)
{
	return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_F(MonitorCli, CountsAfterTheCommandExitedAndStopRemovesEveryPin)
{
	auto v = add_veth("mo0", "mo1");
	ASSERT_GT(v.ifindex, 0) << "veth";
	std::string out;
	ASSERT_EQ(sh(kBin + " monitor start -j", &out), 0) << out;
	auto started = json::parse(out, nullptr, false);
	ASSERT_TRUE(started.is_object()) << "JSON: " << out;
	auto tps = started["tracepoints"].get<std::vector<std::string>>();
	EXPECT_TRUE(has(tps, "xdp_redirect_err")) << "redirect errors are counted: " << out;
	auto p = pins();
	for (const auto &tp : tps)
		EXPECT_TRUE(std::any_of(p.begin(), p.end(),
					[&](const std::string &s) { return s.ends_with("/monitor/link_" + tp); }))
		    << tp << ": its link is pinned";

	// redirects to an ifindex that does not exist fire xdp:xdp_redirect_err with -EINVAL
	auto t = xdpctl::open_skel<monitor_trigger>("monitor_trigger");
	ASSERT_TRUE(t) << "open monitor_trigger";
	(*t)->rodata->target_ifindex = kNoSuchIfindex;
	ASSERT_TRUE(xdpctl::load_skel(*t, "monitor_trigger")) << "load monitor_trigger";
	auto pkt = Packet().eth(kMacB, kMacA).payload(50).build();
	auto r = run_xdp((*t)->progs.monitor_redirect_ifindex, pkt,
			 {.ingress_ifindex = static_cast<uint32_t>(v.ifindex), .repeat = kFrames, .live = true});
	ASSERT_EQ(r.err, 0) << "live test run";

	ASSERT_EQ(sh(kBin + " monitor show -j", &out), 0) << out;
	auto shown = json::parse(out, nullptr, false);
	ASSERT_TRUE(shown.is_object()) << "JSON: " << out;
	EXPECT_EQ(shown["redirect_errors"],
		  json::array({{{"ifindex", v.ifindex}, {"ifname", "mo0"}, {"errno", EINVAL}, {"error", "EINVAL"},
				{"count", kFrames}}}))
	    << "the redirect errors of the test run, by device and errno";
	EXPECT_EQ(shown["exceptions"], json::array()) << "no exceptions";

	ASSERT_EQ(sh(kBin + " monitor show", &out), 0) << out;
	EXPECT_NE(out.find("mo0"), std::string::npos) << "text names the device: " << out;
	EXPECT_NE(out.find("EINVAL"), std::string::npos) << "text names the errno: " << out;

	ASSERT_EQ(sh(kBin + " ctl --backend user stats mo0 -j", &out), 0) << out;
	auto st = json::parse(out, nullptr, false);
	ASSERT_TRUE(st.is_object()) << "JSON: " << out;
	EXPECT_EQ(st["netdevs"][0]["value"]["xdp_redirect_errors"], kFrames) << "XDP_STATS reads the same pins";

	ASSERT_EQ(sh(kBin + " monitor stop", &out), 0) << out;
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "nothing left under the root";
	EXPECT_NE(sh(kBin + " monitor show", &out), 0) << "show after stop fails";
}

TEST_F(MonitorCli, MisuseIsOneLineAndExitOneWithNothingChanged)
{
	struct Row {
		const char *what, *args;
		int rc;
		const char *says;
	};
	// one line on stderr, nothing on stdout; with -j the same plus the JSON line; no pin
	// added or removed either way
	auto check = [&](const Row &row, const std::vector<std::string> &pins_before) {
		SCOPED_TRACE(row.what);
		auto r = run_cmd(kBin + " " + row.args);
		EXPECT_EQ(r.rc, row.rc) << "exit code: " << r.err;
		EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
		EXPECT_NE(r.err.find(row.says), std::string::npos) << "says why: " << r.err;
		EXPECT_TRUE(r.out.empty()) << "nothing on stdout: " << r.out;
		auto js = run_cmd(kBin + " " + row.args + " -j");
		EXPECT_EQ(js.rc, row.rc) << "the same exit code with -j";
		EXPECT_EQ(js.err, r.err) << "the same line on stderr with -j";
		expect_json_error(js.out, row.rc, row.says);
		EXPECT_EQ(pins(), pins_before) << "no pin added or removed";
	};
	for (const Row &row : {Row{"show with no monitor", "monitor show", 1, "no monitor runs"},
			       Row{"stop with no monitor", "monitor stop", 1, "no monitor runs"},
			       Row{"no sub-verb: usage error", "monitor", 2, "subcommand is required"}})
		check(row, {});
	std::string out;
	ASSERT_EQ(sh(kBin + " monitor start", &out), 0) << out;
	auto p = pins();
	ASSERT_FALSE(p.empty()) << "the monitor is pinned";
	check({"a second start", "monitor start", 1, "already pinned"}, p);
}
