// `xdpctl load --no-stats` as a user runs it, and LoadRequest::counters: the instance runs with
// its counters switched off (frames pass, the pinned counters stay zero), status says so, stats
// says so in one line instead of printing zeros, a program without the switch is refused leaving
// nothing behind, and --replace switches the counters of a running interface. A program whose
// object has no xdpctl_stats map: stats shows the kernel's run count of it instead.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bpf/bpf.h>
#include <net/if.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "bpffs_dir.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
#include "spawn.hpp"
#include "traffic.hpp"
#include "xdpctl_fixture.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/status.hpp"

using namespace xt;
using nlohmann::json;

namespace {
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;
const std::string kBin = XDPCTL_BIN;
const Bytes kFrame = Packet().eth(kMacBcast, kMacB).payload(46).build();

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

// sysctl kernel.bpf_stats_enabled (global, not per namespace) set by a test and put back as it
// was however the test ends.
class BpfStatsSysctl {
public:
	static constexpr const char *kPath = "/proc/sys/kernel/bpf_stats_enabled";
	BpfStatsSysctl() : was_(now()) {}
	~BpfStatsSysctl()
	{
		if (!was_.empty())
			(void)set(was_);
	}
	BpfStatsSysctl(const BpfStatsSysctl &) = delete;
	BpfStatsSysctl &operator=(const BpfStatsSysctl &) = delete;
	static std::string now()
	{
		std::ifstream f(kPath);
		std::string v;
		f >> v;
		return v;
	}
	static bool set(const std::string &v)
	{
		std::ofstream f(kPath);
		f << v << '\n';
		f.flush();
		return static_cast<bool>(f);
	}
	[[nodiscard]] const std::string &was() const { return was_; }

private:
	std::string was_;
};

// What the kernel says of the program attached to ifname.
bpf_prog_info prog_info(const std::string &ifname)
{
	bpf_prog_info info{};
	auto att = xdpctl::xdp_attachment(static_cast<int>(if_nametoindex(ifname.c_str())));
	EXPECT_TRUE(att && att->prog_id) << "a program on " << ifname;
	if (!att || !att->prog_id)
		return info;
	xdpctl::Fd fd(bpf_prog_get_fd_by_id(att->prog_id));
	uint32_t len = sizeof(info);
	EXPECT_TRUE(fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0) << "prog info of " << ifname;
	return info;
}

} // namespace

class CliNoStats : public XdpctlNetnsTest {
protected:
	// The counters pinned for ifname, summed over CPUs.
	ActionCounters pinned_counters(const std::string &ifname)
	{
		auto l = xdpctl::current_layout();
		EXPECT_TRUE(l) << "layout";
		xdpctl::Fd m(bpf_obj_get(l->if_map_pin(static_cast<int>(if_nametoindex(ifname.c_str())), XDPCTL_STATS_MAP).c_str()));
		EXPECT_TRUE(m) << "pinned " XDPCTL_STATS_MAP " of " << ifname;
		return m ? read_action_stats(m.get()) : ActionCounters{};
	}
	json status_of(const std::string &ifname)
	{
		auto s = xdpctl("status -j");
		EXPECT_EQ(s.rc, 0) << s.err;
		json j = json::parse(s.out);
		for (const auto &i : j.at("interfaces"))
			if (i.at("ifname").get<std::string>() == ifname)
				return i;
		ADD_FAILURE() << ifname << " not in status: " << s.out;
		return json::object();
	}
};

TEST_F(CliNoStats, OffPassesFramesCountsNothingAndStatusAndStatsSaySo)
{
	add_veth("sa0", "sb0");
	auto r = xdpctl("load --no-stats xdp_pass sa0");
	ASSERT_EQ(r.rc, 0) << r.err;
	EXPECT_NE(r.out.find("loaded xdp_pass on sa0 (native mode, counters off)"), std::string::npos) << r.out;

	ASSERT_EQ(send_frames("sb0", kFrame, 20), 20) << "frames sent into sa0";
	auto c = pinned_counters("sa0");
	for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++)
		EXPECT_EQ(c[a].packets, 0u) << "nothing counted, action " << a;
	auto link = ns().exec() + "ip -s -j link show sa0";
	std::string out;
	ASSERT_EQ(sh(link, &out), 0) << out;
	EXPECT_GE(json::parse(out).at(0).at("stats64").at("rx").at("packets").get<uint64_t>(), 20u)
		<< "the frames passed to the stack: " << out;

	auto st = status_of("sa0");
	EXPECT_EQ(st.at("counters"), false) << "status -j: counters off";
	EXPECT_EQ(st.at("owned"), true) << "xdpctl's program";
	auto t = xdpctl("status");
	ASSERT_EQ(t.rc, 0) << t.err;
	auto row = t.out.find("sa0 ");
	ASSERT_NE(row, std::string::npos) << t.out;
	auto eol = t.out.find('\n', row);
	EXPECT_TRUE(t.out.substr(row, eol - row).ends_with(" off")) << "status: counters column: " << t.out;

	for (const char *args : {"stats sa0 -c 1 -i 0.05", "stats -c 1 -i 0.05"}) {
		SCOPED_TRACE(args);
		auto s = xdpctl(args);
		EXPECT_EQ(s.rc, 1) << "no counters to show";
		EXPECT_EQ(lines(s.err), 1u) << "one line: " << s.err;
		EXPECT_NE(s.err.find("counters are off"), std::string::npos) << s.err;
		EXPECT_TRUE(s.out.empty()) << "no zeros printed: " << s.out;
	}
	auto j = xdpctl("stats -j sa0 -c 1 -i 0.05");
	EXPECT_EQ(j.rc, 1) << "-j: no counters to show";
	auto e = json::parse(j.out, nullptr, false);
	ASSERT_FALSE(e.is_discarded()) << "-j: the error as JSON: " << j.out;
	EXPECT_NE(e.at("error").get<std::string>().find("counters are off"), std::string::npos) << j.out;
	EXPECT_FALSE(e.contains("interfaces")) << "no zeros printed: " << j.out;
}

TEST_F(CliNoStats, StatsOfEveryInterfaceNamesTheOnesWithCountersOff)
{
	add_veth("sa0", "sb0");
	add_veth("sc0", "sd0");
	ASSERT_EQ(xdpctl("load --no-stats xdp_pass sa0").rc, 0);
	ASSERT_EQ(xdpctl("load xdp_pass sc0").rc, 0);
	ASSERT_EQ(send_frames("sd0", kFrame, 9), 9);

	auto t = xdpctl("stats -c 1 -i 0.05");
	ASSERT_EQ(t.rc, 0) << t.err;
	EXPECT_NE(t.out.find("Counters off (loaded with --no-stats): sa0\n"), std::string::npos) << t.out;
	EXPECT_NE(t.out.find("Per-action rates of sc0 (xdp_pass_prog)"), std::string::npos) << "sc0 only: " << t.out;

	auto j = xdpctl("stats -j -c 1 -i 0.05");
	ASSERT_EQ(j.rc, 0) << j.err;
	auto last = json::parse(j.out.substr(j.out.rfind('\n', j.out.size() - 2) + 1));
	ASSERT_EQ(last.at("interfaces").size(), 1u) << j.out;
	EXPECT_EQ(last.at("interfaces").at(0).at("ifname"), "sc0");
	EXPECT_EQ(last.at("interfaces").at(0).at("counters").at("PASS").at("packets"), 9) << "sc0 counts";
	EXPECT_EQ(status_of("sc0").at("counters"), true) << "status: sc0 counts";
}

TEST_F(CliNoStats, LibraryFieldAndReplaceSwitchTheCountersOfARunningInterface)
{
	add_veth("sa0", "sb0");
	auto r = xdpctl::load({.program = {"xdp_pass", ""}, .interfaces = {"sa0"}, .counters = false});
	ASSERT_TRUE(r) << r.error().message();
	ASSERT_EQ(r->size(), 1u);
	EXPECT_FALSE(r->at(0).counters) << "Attached says off";
	auto on = xdpctl::counters_on(r->at(0).prog_id);
	ASSERT_TRUE(on) << on.error().message();
	EXPECT_EQ(*on, std::optional<bool>(false)) << "the loaded program's rodata says off";

	auto rep = xdpctl("load --replace xdp_pass sa0");
	ASSERT_EQ(rep.rc, 0) << rep.err;
	EXPECT_EQ(status_of("sa0").at("counters"), true) << "replaced by an instance that counts";
	ASSERT_EQ(send_frames("sb0", kFrame, 5), 5);
	EXPECT_EQ(pinned_counters("sa0")[XDP_PASS].packets, 5u) << "counted after the replace";

	auto back = xdpctl("load --replace --no-stats xdp_pass sa0");
	ASSERT_EQ(back.rc, 0) << back.err;
	EXPECT_EQ(status_of("sa0").at("counters"), false) << "and back off";
}

TEST_F(CliNoStats, AProgramWithoutTheSwitchIsRefusedLeavingNothing)
{
	add_veth("sa0", "sb0");
	// a bare program of the bench: no xdpctl counters, so no switch
	auto r = xdpctl("load --no-stats " + kObjDir + "/bench_base.bpf.o sa0");
	EXPECT_EQ(r.rc, 1) << r.err;
	EXPECT_EQ(lines(r.err), 1u) << "one line: " << r.err;
	EXPECT_NE(r.err.find("keeps no xdpctl counters"), std::string::npos) << r.err;
	EXPECT_NE(r.err.find("drop --no-stats"), std::string::npos) << "says what to do: " << r.err;
	auto att = xdpctl::xdp_attachment(static_cast<int>(if_nametoindex("sa0")));
	ASSERT_TRUE(att);
	EXPECT_EQ(att->prog_id, 0u) << "nothing attached";
	EXPECT_TRUE(tree(fs_->root()).empty()) << "nothing pinned";

	auto st = status_of("sa0");
	EXPECT_TRUE(st.at("counters").is_null()) << "no program: no counters state";
}

// --replace on an interface with nothing in place is a plain load that says so: exit 0, the
// line of a load with "--replace had nothing to replace" at its end, "replaced": false in JSON,
// the program attached and counting as any load's.
TEST_F(CliNoStats, ReplaceWithNothingInPlaceLoadsAndSaysSo)
{
	add_veth("sa0", "sb0");
	add_veth("sc0", "sd0");
	auto r = xdpctl("load --replace xdp_pass sa0");
	ASSERT_EQ(r.rc, 0) << r.err;
	EXPECT_TRUE(r.err.empty()) << r.err;
	EXPECT_EQ(lines(r.out), 1u) << r.out;
	EXPECT_EQ(r.out.rfind("loaded ", 0), 0u) << "a load, not a replace: " << r.out;
	EXPECT_NE(r.out.find(" on sa0 (native mode): prog id "), std::string::npos) << r.out;
	const std::string note = " (--replace had nothing to replace: nothing was in place)\n";
	ASSERT_GE(r.out.size(), note.size());
	EXPECT_EQ(r.out.substr(r.out.size() - note.size()), note) << r.out;
	auto st = status_of("sa0");
	EXPECT_NE(st.at("prog_id"), 0) << st;
	EXPECT_EQ(st.at("owned"), true) << st;
	EXPECT_EQ(st.at("counters"), true) << st;
	ASSERT_EQ(send_frames("sb0", kFrame, 3), 3);
	EXPECT_EQ(pinned_counters("sa0")[XDP_PASS].packets, 3u) << "loaded and counting";

	// with -j the same load is "replaced": false; an interface that had one is "replaced": true
	auto j = xdpctl("load --replace -j xdp_pass sc0 sa0");
	ASSERT_EQ(j.rc, 0) << j.err;
	auto arr = json::parse(j.out);
	ASSERT_EQ(arr.size(), 2u) << j.out;
	EXPECT_EQ(arr.at(0).at("ifname"), "sc0");
	EXPECT_EQ(arr.at(0).at("replaced"), false) << j.out;
	EXPECT_EQ(arr.at(1).at("ifname"), "sa0");
	EXPECT_EQ(arr.at(1).at("replaced"), true) << j.out;
	EXPECT_NE(status_of("sc0").at("prog_id"), 0) << "sc0 loaded";
}

// A program whose object has no xdpctl_stats map (an object file of the user's; here the test-only
// xdp_bare, which every lane kernel verifies) keeps no counters xdpctl can read: stats shows what
// the kernel counts of its runs instead (bpf_prog_info run_cnt, run_time_ns), and says when
// sysctl kernel.bpf_stats_enabled=0 keeps the kernel from counting; with or without names, alone
// or beside a program with counters, exit 0.
TEST_F(CliNoStats, AProgramWithoutTheStatsMapShowsTheKernelsRunCount)
{
	BpfStatsSysctl sysctl;
	ASSERT_FALSE(sysctl.was().empty()) << "kernel.bpf_stats_enabled readable";
	ASSERT_TRUE(sysctl.set("0"));
	ASSERT_EQ(BpfStatsSysctl::now(), "0") << "a process holding BPF_ENABLE_STATS keeps the kernel counting";
	add_veth("sm0", "sm1");
	auto r = xdpctl("load " + kObjDir + "/xdp_bare.bpf.o sm0");
	ASSERT_EQ(r.rc, 0) << r.err;
	ASSERT_EQ(send_frames("sm1", kFrame, 4), 4) << "frames the kernel does not count";
	EXPECT_EQ(prog_info("sm0").run_cnt, 0u) << "sysctl 0: no run counted";

	const std::string banner = "Runs of sm0 (xdp_bare) as the kernel counts them every 0.05 s, 1 times; Ctrl-C ends "
				   "with a summary";
	const std::string named = "No xdpctl counters (no xdpctl_stats map in the object): sm0 (xdp_bare)";
	const std::string header = "   time  interface        rate        runs";
	const std::string needs = "run count needs sysctl kernel.bpf_stats_enabled=1";
	// the interval row from its interface column on (the time before it is the clock's)
	auto row_from_ifname = [](const std::string &l) { return l.size() > 9 ? l.substr(9) : l; };

	auto off = xdpctl("stats sm0 -c 1 -i 0.05");
	ASSERT_EQ(off.rc, 0) << off.err;
	EXPECT_TRUE(off.err.empty()) << off.err;
	auto o = split_lines(off.out);
	ASSERT_EQ(o.size(), 8u) << off.out;
	EXPECT_EQ(o[0], banner);
	EXPECT_EQ(o[1], named) << "the no-counters line, still true";
	EXPECT_EQ(o[2], "");
	EXPECT_EQ(o[3], header) << "one column: no action columns without per-action counters";
	EXPECT_EQ(row_from_ifname(o[4]), "sm0              run/s          0  " + needs) << o[4];
	EXPECT_EQ(o[5], "");
	EXPECT_EQ(o[6].rfind("Summary: 1 interval in ", 0), 0u) << o[6];
	EXPECT_EQ(o[7], "  sm0              xdp_bare             0 runs, avg 0 run/s; since loaded: 0 runs, 0 ns; " + needs);

	// on: N frames, N runs
	ASSERT_TRUE(sysctl.set("1"));
	ASSERT_EQ(send_frames("sm1", kFrame, 10), 10);
	auto info = prog_info("sm0");
	ASSERT_EQ(info.run_cnt, 10u) << "the kernel counted one run per frame";
	ASSERT_GT(info.run_time_ns, 0u);

	auto j = xdpctl("stats -j -c 1 -i 0.05"); // without names: sm0 is watched, not left out
	ASSERT_EQ(j.rc, 0) << j.err;
	auto jl = split_lines(j.out);
	ASSERT_EQ(jl.size(), 2u) << "an interval and the summary: " << j.out;
	auto iv = json::parse(jl[0], nullptr, false), sum = json::parse(jl[1], nullptr, false);
	ASSERT_FALSE(iv.is_discarded() || sum.is_discarded()) << j.out;
	ASSERT_EQ(iv.at("interfaces").size(), 1u) << j.out;
	const json &e = iv.at("interfaces").at(0);
	EXPECT_EQ(e.at("ifname"), "sm0");
	EXPECT_EQ(e.at("prog"), "xdp_bare");
	EXPECT_TRUE(e.at("actions").is_null()) << "no per-action counters: " << e;
	EXPECT_EQ(e.at("runs").at("count"), 0) << "nothing arrived during the interval: " << e;
	EXPECT_EQ(e.at("runs").at("time_ns"), 0) << e;
	EXPECT_TRUE(e.at("runs").at("ns_per_run").is_null()) << e;
	EXPECT_EQ(e.at("bpf_stats_enabled"), true) << e;
	EXPECT_EQ(sum.at("type"), "summary");
	ASSERT_EQ(sum.at("interfaces").size(), 1u) << j.out;
	const json &se = sum.at("interfaces").at(0);
	EXPECT_TRUE(se.at("counters").is_null()) << se;
	EXPECT_TRUE(se.at("actions").is_null()) << se;
	EXPECT_EQ(se.at("run_count"), 10) << "the run count since load: " << se;
	EXPECT_EQ(se.at("run_time_ns"), info.run_time_ns) << se;
	EXPECT_EQ(se.at("runs").at("count"), 0) << se;
	EXPECT_EQ(se.at("bpf_stats_enabled"), true) << se;

	// the same reading as text: user space once -j showed what the kernel counted
	if (in_lane()) {
		lane_left_to_host(1, "text repeat of the -j reading");
	} else {
		auto on = xdpctl("stats sm0 -c 1 -i 0.05");
		ASSERT_EQ(on.rc, 0) << on.err;
		auto t = split_lines(on.out);
		ASSERT_EQ(t.size(), 8u) << on.out;
		EXPECT_EQ(t[0], banner);
		EXPECT_EQ(t[1], named);
		EXPECT_EQ(t[3], header);
		EXPECT_EQ(row_from_ifname(t[4]), "sm0              run/s          0") << "no note while the kernel counts: " << t[4];
		EXPECT_EQ(t[7], "  sm0              xdp_bare             0 runs, avg 0 run/s; since loaded: 10 runs, " +
					std::to_string(info.run_time_ns) + " ns");
	}

	// frames sent during the run: counted in exactly one interval, and in the summary
	Spawned p(ns().exec() + kBin + " stats -j sm0 -i 0.3 -c 3", env());
	auto first = p.line();
	ASSERT_TRUE(first) << "first interval printed";
	ASSERT_EQ(send_frames("sm1", kFrame, 5), 5);
	std::string rest, err;
	ASSERT_EQ(p.finish(&rest, &err), 0) << err;
	auto dl = split_lines(*first + "\n" + rest);
	ASSERT_EQ(dl.size(), 4u) << *first << "\n" << rest;
	uint64_t in_intervals = 0;
	for (size_t i = 0; i < 3; i++) {
		auto l = json::parse(dl[i], nullptr, false);
		ASSERT_FALSE(l.is_discarded()) << dl[i];
		in_intervals += l.at("interfaces").at(0).at("runs").at("count").get<uint64_t>();
	}
	EXPECT_EQ(in_intervals, 5u) << "every run in exactly one interval";
	auto ds = json::parse(dl[3], nullptr, false);
	ASSERT_FALSE(ds.is_discarded()) << dl[3];
	const json &d = ds.at("interfaces").at(0);
	EXPECT_EQ(d.at("runs").at("count"), 5) << d;
	EXPECT_GT(d.at("runs").at("per_s").get<double>(), 0) << d;
	EXPECT_TRUE(d.at("runs").at("ns_per_run").is_number()) << d;
	EXPECT_EQ(d.at("run_count"), 15) << d;
	info = prog_info("sm0");
	EXPECT_EQ(info.run_cnt, 15u);

	// beside a program with counters: both shown, the no-counters line kept
	ASSERT_EQ(xdpctl("load xdp_pass sm1").rc, 0);
	auto mixed = xdpctl("stats -c 1 -i 0.05");
	ASSERT_EQ(mixed.rc, 0) << mixed.err;
	auto m = split_lines(mixed.out);
	ASSERT_GE(m.size(), 2u) << mixed.out;
	EXPECT_EQ(m[0], "Per-action rates of sm1 (xdp_pass_prog), runs of sm0 (xdp_bare) as the kernel counts them every "
			"0.05 s, 1 times; Ctrl-C ends with a summary");
	EXPECT_EQ(m[1], named);
	EXPECT_NE(mixed.out.find("  sm0              xdp_bare             0 runs, avg 0 run/s; since loaded: 15 runs, " +
				 std::to_string(info.run_time_ns) + " ns\n"),
		  std::string::npos)
	    << mixed.out;
	EXPECT_NE(mixed.out.find("  sm1              xdp_pass_prog        no packets\n"), std::string::npos) << mixed.out;
}
