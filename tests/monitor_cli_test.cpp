// `xdpctl monitor start|show|stop` as an operator runs it in a test namespace: the monitor keeps
// counting after the command exits (its links and maps are pinned), `show` and the control map's
// XDP_STATS read the same counts, `stop` leaves no pin behind, start and stop converge (twice is
// fine, a half-removed monitor is finished), and misuse is one line and exit 1.
#include <bpf/bpf.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
#include "monitor_trigger.skel.h"
#include "netns.hpp"
#include "prog_run.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/netdev.hpp"
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
	// A pin of this namespace's monitor.
	std::string mon_pin(const std::string &name) const
	{
		auto l = xdpctl::current_layout();
		return l ? l->monitor_dir() + "/" + name : std::string();
	}
	// How many of these entries (pins() paths) are pins of the monitor directory.
	static size_t p_count(const std::vector<std::string> &entries)
	{
		return std::count_if(entries.begin(), entries.end(),
				     [](const std::string &e) { return e.find("/monitor/") != std::string::npos; });
	}
	// The id of a pinned map, 0 when it is not pinned.
	uint32_t map_id(const std::string &name) const
	{
		xdpctl::Fd fd(bpf_obj_get(mon_pin(name).c_str()));
		bpf_map_info info{};
		uint32_t len = sizeof(info);
		return fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 ? info.id : 0;
	}
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
	// in the lane: the refusals that read the monitor's pins (exit 1), without the -j repeat; the
	// usage error (exit 2) and the JSON are user space (xt::in_lane())
	auto check = [&](const Row &row, const std::vector<std::string> &pins_before) {
		SCOPED_TRACE(row.what);
		if (in_lane() && row.rc == 2) {
			lane_left_to_host(2, "runs (a usage error and its -j repeat)");
			return;
		}
		auto r = run_cmd(kBin + " " + row.args);
		EXPECT_EQ(r.rc, row.rc) << "exit code: " << r.err;
		EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
		EXPECT_NE(r.err.find(row.says), std::string::npos) << "says why: " << r.err;
		EXPECT_TRUE(r.out.empty()) << "nothing on stdout: " << r.out;
		if (in_lane()) {
			lane_left_to_host(1, "run (the -j repeat)");
		} else {
			auto js = run_cmd(kBin + " " + row.args + " -j");
			EXPECT_EQ(js.rc, row.rc) << "the same exit code with -j";
			EXPECT_EQ(js.err, r.err) << "the same line on stderr with -j";
			expect_json_error(js.out, row.rc, row.says);
		}
		EXPECT_EQ(pins(), pins_before) << "no pin added or removed";
	};
	for (const Row &row : {Row{"show with no monitor", "monitor show", 1, "no monitor runs"},
			       Row{"no sub-verb: usage error", "monitor", 2, "subcommand is required"}})
		check(row, {});
	std::string out;
	ASSERT_EQ(sh(kBin + " monitor start", &out), 0) << out;
	auto p = pins();
	ASSERT_FALSE(p.empty()) << "the monitor is pinned";
	check({"show of a half-removed monitor", "monitor show", 1, "half removed"}, [&] {
		EXPECT_EQ(unlink(mon_pin("xdpctl_mon_exc").c_str()), 0) << "a stop killed after its first unlink";
		return pins();
	}());
}

// start and stop converge, as `ip link set up` and `systemctl start` twice do: a start with one
// running and a stop with none change nothing, exit 0 and say so; what a start or stop killed
// midway left (part of the pins: they are made and removed one by one) is finished by either,
// stop removing it, start replacing it with a whole monitor. Output and pins exact.
TEST_F(MonitorCli, StartAndStopConvergeAndFinishAHalfRemovedMonitor)
{
	auto r = run_cmd(kBin + " monitor stop");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "monitor not running: nothing to stop\n");
	EXPECT_EQ(r.err, "");
	r = run_cmd(kBin + " monitor stop -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(json::parse(r.out, nullptr, false), json({{"stopped", false}, {"half_removed", false}})) << r.out;
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "nothing made";

	r = run_cmd(kBin + " monitor start -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto started = json::parse(r.out, nullptr, false);
	ASSERT_TRUE(started.is_object()) << r.out;
	EXPECT_EQ(started["already"], false) << r.out;
	EXPECT_EQ(started["removed"], json::array()) << r.out;
	const auto tps = started["tracepoints"].get<std::vector<std::string>>();
	ASSERT_FALSE(tps.empty()) << r.out;
	std::string list;
	for (const auto &tp : tps)
		list += (list.empty() ? "" : ", ") + tp;
	const std::string running = "monitor already running on " + std::to_string(tps.size()) + " tracepoint(s): " + list + "\n";
	const auto whole = pins();
	const uint32_t first = map_id("xdpctl_mon_exc");
	ASSERT_NE(first, 0u) << "the exceptions map is pinned";

	r = run_cmd(kBin + " monitor start");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, running);
	EXPECT_EQ(r.err, "");
	EXPECT_EQ(pins(), whole) << "the same pins";
	EXPECT_EQ(map_id("xdpctl_mon_exc"), first) << "the running monitor was kept (its counts with it), not replaced";
	r = run_cmd(kBin + " monitor start -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(json::parse(r.out, nullptr, false)["already"], true) << r.out;

	// a stop killed midway: one map and one link unpinned
	ASSERT_EQ(unlink(mon_pin("xdpctl_mon_rerr").c_str()), 0);
	ASSERT_EQ(unlink(mon_pin("link_" + tps[0]).c_str()), 0);
	auto half = pins();
	r = run_cmd(kBin + " monitor show");
	EXPECT_EQ(r.rc, 1) << r.out;
	EXPECT_EQ(r.err, "xdpctl monitor: show xdp_monitor: the monitor of this namespace is half removed (an interrupted "
			 "`monitor start` or `monitor stop` left part of its pins): `xdpctl monitor stop` finishes removing "
			 "it, `xdpctl monitor start` starts it again (No such file or directory)\n");
	EXPECT_EQ(pins(), half) << "show changes nothing";

	// start finishes it: what was left goes, a whole new monitor is pinned
	std::vector<std::string> left; // the pins of the monitor directory (not the directories)
	for (const auto &p : half)
		if (p.find("/monitor/") != std::string::npos)
			left.push_back(p.substr(p.rfind('/') + 1));
	ASSERT_EQ(left.size(), p_count(whole) - 2) << "two pins gone";
	std::sort(left.begin(), left.end());
	std::string left_list;
	for (const auto &n : left)
		left_list += (left_list.empty() ? "" : ", ") + n;
	r = run_cmd(kBin + " monitor start");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "removed " + std::to_string(left.size()) +
			     " pin(s) of a half-removed monitor (an interrupted monitor start or stop): " + left_list +
			     "\nmonitor started on " + std::to_string(tps.size()) + " tracepoint(s): " + list + "\n");
	EXPECT_EQ(pins(), whole) << "a whole monitor again";
	EXPECT_NE(map_id("xdpctl_mon_exc"), first) << "a new one";
	r = run_cmd(kBin + " monitor show -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	// start lists them in the object's program order, show by name
	auto by_name = tps;
	std::sort(by_name.begin(), by_name.end());
	EXPECT_EQ(json::parse(r.out, nullptr, false)["tracepoints"], json(by_name)) << r.out;

	// stop finishes one too
	ASSERT_EQ(unlink(mon_pin("xdpctl_mon_exc").c_str()), 0);
	r = run_cmd(kBin + " monitor stop");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "monitor stopped: removed the pins a half-removed monitor had left (an interrupted monitor start "
			 "or stop)\n");
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "nothing left";

	ASSERT_EQ(sh(kBin + " monitor start"), 0);
	r = run_cmd(kBin + " monitor stop -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(json::parse(r.out, nullptr, false), json({{"stopped", true}, {"half_removed", false}})) << r.out;
	r = run_cmd(kBin + " monitor stop");
	EXPECT_EQ(r.out, "monitor not running: nothing to stop\n") << "twice: nothing to do";
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "nothing left";
}

// A start that fails after it made the levels of ROOT (here: out of file descriptors while the
// monitor loads) takes them back: the bpffs is as it was (issue 16).
TEST_F(MonitorCli, FailedStartTakesBackTheRootLevelsItCreated)
{
	const auto fresh = tree(fs_->mount_point());
	const std::string root = fs_->mount_point() + "/a/xdpctl";
	// descriptors 3-9 the test process may pass on are closed, so the limit leaves 5 free; the
	// limit is set in an inner shell that execs xdpctl: dash cannot save the descriptors of a
	// redirection (F_DUPFD 10) under it, so the outer shell does the redirections
	auto r = run_cmd("XDPCTL_BPFFS=" + root + " sh -c 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; ulimit -n 8; exec " +
			 kBin + " monitor start'");
	EXPECT_EQ(r.rc, 1) << r.out;
	EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
	EXPECT_NE(r.err.find("xdp_monitor"), std::string::npos) << "fails loading the monitor: " << r.err;
	EXPECT_TRUE(r.out.empty()) << r.out;
	EXPECT_EQ(tree(fs_->mount_point()), fresh) << "no level of ROOT left (" << root << ")";
}

// `unload --all` unloads what runs on interfaces; the tracepoint monitor is not one: it is left
// running, and the command says so (issue 16), on stderr with -j (stdout is the list).
TEST_F(MonitorCli, UnloadAllLeavesTheMonitorRunningAndSaysSo)
{
	auto r = run_cmd(kBin + " unload --all");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "nothing loaded by xdpctl in this namespace\n") << "no monitor: nothing said of it";
	ASSERT_EQ(sh(kBin + " monitor start"), 0);
	const auto p = pins();
	r = run_cmd(kBin + " unload --all");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "nothing loaded by xdpctl in this namespace\n"
			 "the tracepoint monitor of this namespace keeps running (xdpctl monitor stop stops it)\n");
	EXPECT_EQ(r.err, "");
	EXPECT_EQ(pins(), p) << "the monitor's pins kept";
	r = run_cmd(kBin + " unload --all -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "[]\n");
	EXPECT_EQ(r.err, "xdpctl: the tracepoint monitor of this namespace keeps running (xdpctl monitor stop stops it)\n");
	ASSERT_EQ(unlink(mon_pin("xdpctl_mon_exc").c_str()), 0) << "a stop killed midway";
	r = run_cmd(kBin + " unload --all");
	EXPECT_EQ(r.out, "nothing loaded by xdpctl in this namespace\n"
			 "a half-removed tracepoint monitor is left in this namespace (xdpctl monitor stop removes it)\n");
	ASSERT_EQ(sh(kBin + " monitor stop"), 0);
	r = run_cmd(kBin + " unload --all");
	EXPECT_EQ(r.out, "nothing loaded by xdpctl in this namespace\n");
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "nothing left";
}

// `unload --all --monitor` also stops the monitor (issue 16), in `monitor stop`'s words after the
// unload's lines: the interface's program detached, every pin gone, and the monitor's tracepoint
// links with them (their ids no longer exist: nothing of it keeps counting). With -j the stop's
// line goes to stderr (stdout is unload's list); with no monitor the stop says so; --monitor
// without --all is a usage error (host only: user space) that changes nothing.
TEST_F(MonitorCli, UnloadAllMonitorStopsTheMonitor)
{
	auto v = add_veth("um0", "um1");
	ASSERT_GT(v.ifindex, 0) << "veth";
	ASSERT_EQ(sh(kBin + " load xdp_pass um0"), 0);
	ASSERT_EQ(sh(kBin + " monitor start"), 0);
	auto monitor_links = [&] {
		std::vector<uint32_t> ids;
		for (const auto &p : pins())
			if (p.find("/monitor/link_") != std::string::npos) {
				xdpctl::Fd fd(bpf_obj_get((fs_->root() + "/" + p).c_str()));
				bpf_link_info info{};
				uint32_t len = sizeof(info);
				if (fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0)
					ids.push_back(info.id);
			}
		return ids;
	};
	const auto links = monitor_links();
	ASSERT_FALSE(links.empty()) << "the monitor's links are pinned";
	auto att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att && att->prog_id) << "xdp_pass runs on um0";

	if (!in_lane()) {
		const auto before = pins();
		auto u = run_cmd(kBin + " unload um0 --monitor");
		EXPECT_EQ(u.rc, 2) << u.err;
		EXPECT_EQ(u.err, "xdpctl unload: --monitor goes with --all (the monitor is the namespace's, not an "
				 "interface's); see xdpctl unload --help\n");
		EXPECT_TRUE(u.out.empty()) << u.out;
		EXPECT_EQ(pins(), before) << "nothing changed";
	} else {
		lane_left_to_host(1, "run (--monitor without --all: a usage error)");
	}

	auto r = run_cmd(kBin + " unload --all --monitor");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "unloaded xdp_pass_prog from um0\nmonitor stopped\n");
	EXPECT_EQ(r.err, "");
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "no pin of the interface or the monitor left";
	att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att);
	EXPECT_EQ(att->prog_id, 0u) << "um0 runs no program";
	// the last reference of an unpinned link is dropped from an RCU callback: its id goes shortly after
	for (uint32_t id : links) {
		bool gone = false;
		for (int i = 0; i < 500 && !gone; i++) {
			xdpctl::Fd fd(bpf_link_get_fd_by_id(id));
			gone = !fd && errno == ENOENT;
			if (!gone)
				usleep(10 * 1000);
		}
		EXPECT_TRUE(gone) << "the monitor's link " << id << " is gone";
	}
	if (in_lane()) {
		lane_left_to_host(2, "runs (the -j form and the stop with no monitor)");
		return;
	}
	ASSERT_EQ(sh(kBin + " monitor start"), 0);
	r = run_cmd(kBin + " unload --all --monitor -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(json::parse(r.out, nullptr, false), json::array()) << "stdout is unload's list: " << r.out;
	EXPECT_EQ(r.err, "xdpctl: monitor stopped\n");
	EXPECT_EQ(pins(), std::vector<std::string>{}) << "the monitor's pins removed";
	r = run_cmd(kBin + " unload --all --monitor");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "nothing loaded by xdpctl in this namespace\nmonitor not running: nothing to stop\n");
}
