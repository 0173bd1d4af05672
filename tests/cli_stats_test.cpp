// xdpctl stats as a user runs it: the real binary in a test namespace with a private bpffs,
// xdp_pass on one end of a veth, frames sent into it from the other end; what stats prints
// (JSON lines, the summary, the exit code) checked against what was sent.
#include <signal.h>
#include <string.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "bpffs_dir.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "xdpctl_fixture.hpp"
#include "spawn.hpp"
#include "traffic.hpp"
#include "xdpctl/loader.hpp"

using namespace xt;
using nlohmann::json;

namespace {
const std::string kBin = XDPCTL_BIN;

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

std::vector<json> json_lines(const std::string &out)
{
	std::vector<json> v;
	size_t start = 0;
	while (start < out.size()) {
		size_t nl = out.find('\n', start);
		std::string l = out.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
		if (!l.empty())
			v.push_back(json::parse(l, nullptr, false));
		if (nl == std::string::npos)
			break;
		start = nl + 1;
	}
	return v;
}

const json *iface(const json &line, const std::string &name)
{
	for (const auto &i : line.at("interfaces"))
		if (i.at("ifname") == name)
			return &i;
	return nullptr;
}

// 60-byte frames of the test ethertype: XDP sees exactly these bytes.
const Bytes kFrame = Packet().eth(kMacBcast, kMacB).payload(46).build();
} // namespace

class CliStats : public XdpctlNetnsTest {
protected:
	// xdp_pass on sa0; frames sent out of sb0 arrive there
	void load_pass()
	{
		add_veth("sa0", "sb0");
		auto r = xdpctl("load xdp_pass sa0");
		ASSERT_EQ(r.rc, 0) << "load: " << r.err;
	}
};

TEST_F(CliStats, CountCountersSentBeforeTheRunAndJsonLinesParse)
{
	ASSERT_NO_FATAL_FAILURE(load_pass());
	ASSERT_EQ(send_frames("sb0", kFrame, 40), 40) << "frames sent";
	auto r = xdpctl("stats sa0 -i 0.1 -c 2 -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto v = json_lines(r.out);
	ASSERT_EQ(v.size(), 3u) << "two interval lines and the summary: " << r.out;
	for (size_t i = 0; i < v.size(); i++) {
		ASSERT_FALSE(v[i].is_discarded()) << "line " << i << " is JSON: " << r.out;
		EXPECT_EQ(v[i].at("type"), i < 2 ? "interval" : "summary") << "line " << i;
	}
	const json *s = iface(v[2], "sa0");
	ASSERT_NE(s, nullptr) << "sa0 in the summary: " << v[2].dump();
	EXPECT_EQ(s->at("prog"), "xdp_pass_prog") << "program";
	EXPECT_EQ(s->at("counters").at("PASS").at("packets"), 40) << "PASS since load = frames sent";
	EXPECT_EQ(s->at("counters").at("PASS").at("bytes"), 40 * kFrame.size()) << "PASS bytes";
	for (const char *a : {"ABORTED", "DROP", "TX", "REDIRECT"})
		EXPECT_EQ(s->at("counters").at(a).at("packets"), 0) << a;
	EXPECT_EQ(s->at("actions").at("PASS").at("packets"), 0) << "nothing arrived during the run";
	EXPECT_EQ(v[2].at("intervals"), 2) << "-c 2 ends after two intervals";
}

TEST_F(CliStats, FramesSentDuringTheRunShowUpInTheIntervalsAndTheSummary)
{
	ASSERT_NO_FATAL_FAILURE(load_pass());
	Spawned p(ns().exec() + kBin + " stats -i 0.3 -c 4 -j -e", env());
	auto first = p.line();
	ASSERT_TRUE(first) << "first interval printed";
	ASSERT_EQ(send_frames("sb0", kFrame, 25), 25) << "frames sent after the first interval";
	std::string rest, err;
	ASSERT_EQ(p.finish(&rest, &err), 0) << err;
	auto v = json_lines(*first + "\n" + rest);
	ASSERT_EQ(v.size(), 5u) << "four intervals and the summary: " << rest;
	uint64_t in_intervals = 0;
	for (size_t i = 0; i < 4; i++) {
		ASSERT_FALSE(v[i].is_discarded()) << "line " << i;
		const json *e = iface(v[i], "sa0");
		ASSERT_NE(e, nullptr) << "no IFNAME: every interface xdpctl has a program on";
		in_intervals += e->at("actions").at("PASS").at("packets").get<uint64_t>();
		EXPECT_TRUE(e->at("link").is_object()) << "-e: the netdev's counters";
		EXPECT_TRUE(e->contains("monitor")) << "-e: the monitor's error counts (null: not running)";
	}
	EXPECT_EQ(in_intervals, 25u) << "every frame counted in exactly one interval";
	const json *s = iface(v[4], "sa0");
	ASSERT_NE(s, nullptr);
	EXPECT_EQ(s->at("actions").at("PASS").at("packets"), 25) << "summary: total over the run";
	EXPECT_GT(s->at("actions").at("PASS").at("pps").get<double>(), 0) << "summary: average rate";
}

TEST_F(CliStats, TextShowsActionColumnsAndASignalEndsWithTheSummary)
{
	ASSERT_NO_FATAL_FAILURE(load_pass());
	for (int sig : {SIGINT, SIGTERM}) {
		SCOPED_TRACE(strsignal(sig));
		Spawned p(ns().exec() + kBin + " stats -i 0.2", env());
		std::string header;
		for (int i = 0; i < 4; i++) // banner, blank, column header
			if (auto l = p.line(); l && l->find("REDIRECT") != std::string::npos) {
				header = *l;
				break;
			}
		EXPECT_NE(header.find("PASS"), std::string::npos) << "one column per action: " << header;
		ASSERT_EQ(send_frames("sb0", kFrame, 10), 10);
		auto row = p.line();
		ASSERT_TRUE(row) << "an interval row";
		p.signal(sig);
		std::string rest, err;
		EXPECT_EQ(p.finish(&rest, &err), 0) << "a signal is the normal end: " << err;
		EXPECT_NE(rest.find("Summary"), std::string::npos) << "summary: " << rest;
		EXPECT_NE(rest.find("xdp_pass_prog"), std::string::npos) << "summary names the program: " << rest;
	}
}

struct StatsBadRow {
	const char *what;
	std::string args;
	int rc;
	const char *says;
};

TEST_F(CliStats, BadInputsFailWithOneLine)
{
	add_veth("sa0", "sb0");
	std::vector<StatsBadRow> rows = {
		{"nothing loaded", "stats -c 1", 1, "no interface in this network namespace runs a program of xdpctl"},
		{"unknown interface", "stats nosuchif0 -c 1", 1, "not found in this network namespace"},
		{"interface without a program of xdpctl", "stats sa0 -c 1", 1, "runs no program of xdpctl"},
		{"zero interval", "stats -i 0", 2, "--interval"},
		{"interval not a number", "stats -i soon", 2, "--interval"},
		{"zero count", "stats -c 0", 2, "--count"},
	};
	// in the lane the refusals the kernel's state decides (exit 1), without the -j repeat; the
	// usage errors (exit 2) and the JSON are user space (xt::in_lane())
	size_t left = 0;
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		if (in_lane() && r.rc == 2) {
			left += 2;
			continue;
		}
		auto res = xdpctl(r.args);
		EXPECT_EQ(res.rc, r.rc) << "exit code; stderr: " << res.err;
		EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_TRUE(res.out.empty()) << "nothing on stdout: " << res.out;
		EXPECT_TRUE(tree(fs_->root()).empty()) << "nothing pinned";
		if (in_lane()) {
			left++;
			continue;
		}
		auto js = xdpctl(r.args + " -j");
		EXPECT_EQ(js.rc, r.rc) << "the same exit code with -j";
		EXPECT_EQ(js.err, res.err) << "the same line on stderr with -j";
		expect_json_error(js.out, r.rc, r.says);
		EXPECT_TRUE(tree(fs_->root()).empty()) << "nothing pinned with -j";
	}
	lane_left_to_host(left, "runs (usage errors and -j repeats)");
}
