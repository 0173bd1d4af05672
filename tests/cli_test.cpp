// The real xdpctl binary, run as a user runs it: exit codes, one-line errors, JSON, and nothing
// left pinned after a refused command. Every run gets a private bpffs (XDPCTL_BPFFS).
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "bpffs_dir.hpp"

using namespace xt;

namespace {
const std::string kBin = XDPCTL_BIN;
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

// With -j an error is one compact JSON object on one line of stdout: {"error": why, "exit": rc}.
void expect_json_error(const std::string &out, int rc, const std::string &says)
{
	ASSERT_EQ(lines(out), 1u) << "one line of JSON on stdout: " << out;
	ASSERT_EQ(out.back(), '\n') << "ends the line: " << out;
	auto j = nlohmann::json::parse(out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << "stdout is a JSON object: " << out;
	EXPECT_EQ(j.size(), 2u) << "error and exit, nothing else: " << out;
	EXPECT_EQ(j.value("exit", -1), rc) << "JSON carries the exit code: " << out;
	EXPECT_NE(j.value("error", std::string()).find(says), std::string::npos) << "JSON error says why: " << out;
}

// What xdpctl left in the private bpffs besides ROOT itself.
std::vector<std::string> leftovers(const BpffsDir &fs)
{
	return tree(fs.root());
}
} // namespace

TEST(Cli, HelpForEveryVerbExitsZero)
{
	for (const char *verb : {"", "load", "unload", "status", "redirect", "redirect add", "redirect del", "broadcast",
				 "broadcast add", "broadcast del"}) {
		SCOPED_TRACE(verb);
		auto r = run_cmd(kBin + " " + verb + " --help");
		EXPECT_EQ(r.rc, 0) << "exit code";
		EXPECT_NE(r.out.find("Usage:"), std::string::npos) << "usage printed: " << r.out;
	}
}

TEST(Cli, ListIsJsonWithTheCollection)
{
	auto r = run_cmd(kBin + " load --list -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto j = nlohmann::json::parse(r.out);
	ASSERT_TRUE(j.is_array()) << r.out;
	bool pass = false;
	for (const auto &e : j)
		pass |= e.at("name") == "xdp_pass" && e.at("prog") == "xdp_pass_prog" && e.at("kind") == "xdp";
	EXPECT_TRUE(pass) << "xdp_pass listed: " << r.out;
}

struct BadRow {
	const char *what;
	std::string args;
	int rc;
	const char *says; // substring of the one line on stderr
	bool private_bpffs = true;
};

// Inputs refused before any netlink request (they hold on a machine whose rtnl is busy, too).
TEST(Cli, BadInputsFailWithOneLineAndLeaveNothing)
{
	std::string txt = "/tmp/xdpctl-cli-notbpf-" + std::to_string(getpid());
	std::ofstream(txt) << "not an object\n";
	char plain[] = "/tmp/xdpctl-plain-XXXXXX";
	ASSERT_NE(mkdtemp(plain), nullptr);
	std::vector<BadRow> rows = {
		{"unknown program", "load no_such_prog lo", 2, "unknown program 'no_such_prog'"},
		{"program without interface", "load xdp_pass", 2, "give a PROGRAM and at least one IFNAME"},
		{"unknown interface", "load xdp_pass nosuchif0", 1, "nosuchif0: not found in this network namespace"},
		{"not an object file", "load " + txt + " lo", 1, "not a BPF object file"},
		{"object without XDP program", "load " + kObjDir + "/loader_tc_only.bpf.o lo", 1, "has no XDP"},
		{"missing object file", "load /nonexistent/prog.bpf.o lo", 1, "No such file"},
		{"bad mode", "load -m turbo xdp_pass lo", 2, "--mode"},
		{"unknown flag", "load --frobnicate xdp_pass lo", 2, "frobnicate"},
		{"unload without target", "unload", 2, "give IFNAME... or --all"},
		{"unload unknown interface", "unload nosuchif0", 1, "not found in this network namespace"},
		{"redirect with nothing loaded", "redirect add lo lo", 1, "nothing loaded in this namespace"},
		{"redirect with unknown egress", "redirect add lo lo --egress nope", 2, "unknown egress program"},
		{"redirect with interface program as egress", "redirect add lo lo --egress xdp_pass", 2,
		 "not a devmap egress program"},
		{"egress action without egress program", "redirect add lo lo --egress-mac", 2,
		 "--egress-mac is an action of the egress program"},
		{"broadcast with nothing loaded", "broadcast add lo", 1, "nothing loaded in this namespace"},
		{"no verb", "", 2, "subcommand is required"},
		{"bpffs not mounted", "load xdp_pass nosuchif0", 1, "is not on a BPF filesystem", false},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		BpffsDir fs;
		ASSERT_TRUE(fs.ok()) << "private bpffs";
		std::string env = r.private_bpffs ? "XDPCTL_BPFFS=" + fs.root() : std::string("XDPCTL_BPFFS=") + plain + "/x";
		auto res = run_cmd(kBin + " " + r.args, env);
		EXPECT_EQ(res.rc, r.rc) << "exit code; stderr: " << res.err;
		EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_TRUE(res.out.empty()) << "nothing on stdout: " << res.out;
		EXPECT_TRUE(leftovers(fs).empty()) << "nothing pinned or created";
		EXPECT_TRUE(tree(plain).empty()) << "nothing created outside bpffs";

		auto js = run_cmd(kBin + " -j " + r.args, env);
		EXPECT_EQ(js.rc, r.rc) << "same exit code with -j";
		EXPECT_EQ(js.err, res.err) << "the same one line on stderr with -j";
		expect_json_error(js.out, r.rc, r.says);
		EXPECT_TRUE(leftovers(fs).empty()) << "nothing pinned or created with -j";
	}
	unlink(txt.c_str());
	rmdir(plain);
}
