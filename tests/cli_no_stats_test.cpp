// `xdpctl load --no-stats` as a user runs it, and LoadRequest::counters: the instance runs with
// its counters switched off (frames pass, the pinned counters stay zero), status says so, stats
// says so in one line instead of printing zeros, a program without the switch is refused leaving
// nothing behind, and --replace switches the counters of a running interface.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bpf/bpf.h>
#include <net/if.h>

#include <algorithm>

#include "bpffs_dir.hpp"
#include "netns.hpp"
#include "prog_run.hpp"
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
const Bytes kFrame = Packet().eth(kMacBcast, kMacB).payload(46).build();

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
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
// xdp_bare, which every lane kernel verifies) keeps no counters xdpctl can read: stats says
// that, in one line, instead of "no longer attached"; without names such interfaces are left out
// and named, as counters-off ones.
TEST_F(CliNoStats, AProgramWithoutTheStatsMapIsNamedNotCalledDetached)
{
	add_veth("sm0", "sm1");
	auto r = xdpctl("load " + kObjDir + "/xdp_bare.bpf.o sm0");
	ASSERT_EQ(r.rc, 0) << r.err;
	for (const char *args : {"stats sm0 -c 1 -i 0.05", "stats -c 1 -i 0.05"}) {
		SCOPED_TRACE(args);
		auto s = xdpctl(args);
		EXPECT_EQ(s.rc, 1) << s.out;
		EXPECT_EQ(s.err, std::string(args).starts_with("stats sm0")
					 ? "xdpctl stats: interface sm0: its program xdp_bare keeps no xdpctl counters (its object "
					   "has no xdpctl_stats map); the programs of the collection keep them (xdpctl load --list) "
					   "(No data available)\n"
					 : "xdpctl stats: interfaces: no program xdpctl attached keeps xdpctl counters (their objects "
					   "have no xdpctl_stats map): sm0 (xdp_bare) (No data available)\n");
		EXPECT_TRUE(s.out.empty()) << s.out;
	}
	ASSERT_EQ(xdpctl("load xdp_pass sm1").rc, 0);
	auto t = xdpctl("stats -c 1 -i 0.05");
	ASSERT_EQ(t.rc, 0) << t.err;
	EXPECT_NE(t.out.find("No xdpctl counters (no xdpctl_stats map in the object): sm0 (xdp_bare)\n"), std::string::npos)
	    << t.out;
	EXPECT_NE(t.out.find("Per-action rates of sm1 (xdp_pass_prog)"), std::string::npos) << "sm1 only: " << t.out;
}
