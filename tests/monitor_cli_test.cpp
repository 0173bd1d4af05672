// `xdpctl monitor start|show|stop` as an operator runs it in a test namespace: the monitor keeps
// counting after the command exits (its links and maps are pinned), `show` and the control map's
// XDP_STATS read the same counts, `stop` leaves no pin behind, and misuse is one line and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"
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

// Runs xdpctl with args; *err gets what it printed on stderr alone.
int run_err(const std::string &args, std::string *err)
{
	return sh("(" + kBin + " " + args + " 2>&1 >/dev/null)", err);
}

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
	std::string out;
	struct Row {
		const char *what, *args, *says;
	};
	const Row before_start[] = {
		{"show with no monitor", "monitor show", "no monitor runs"},
		{"stop with no monitor", "monitor stop", "no monitor runs"},
	};
	for (const auto &row : before_start) {
		EXPECT_EQ(run_err(row.args, &out), 1) << row.what << ": exit 1";
		EXPECT_NE(out.find(row.says), std::string::npos) << row.what << ": " << out;
		EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << row.what << ": one line: " << out;
	}
	ASSERT_EQ(sh(kBin + " monitor start", &out), 0) << out;
	auto p = pins();
	EXPECT_EQ(run_err("monitor start", &out), 1) << "a second start: exit 1";
	EXPECT_NE(out.find("already pinned"), std::string::npos) << "says why: " << out;
	EXPECT_EQ(pins(), p) << "the running monitor's pins are untouched";
	EXPECT_EQ(run_err("monitor", &out), 2) << "no sub-verb: usage error";
}
