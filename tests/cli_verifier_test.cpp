// Programs the verifier rejects, loaded as a user loads them (`xdpctl load OBJ IFNAME`,
// `xdpctl redirect add IN OUT --egress OBJ`) in a namespace of their own: exit 1, one line with
// the verifier's reason (never "needs root": the test runs as root), nothing left behind, and
// with -v the program's whole log before that line. The objects are tests/progs/verr_*.bpf.c.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "bpffs_dir.hpp"
#include "netns.hpp"
#include "xdpctl_fixture.hpp"

using namespace xt;

namespace {
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;

bool has_line(const std::vector<std::string> &lines, const std::regex &re)
{
	return std::any_of(lines.begin(), lines.end(), [&](const std::string &l) { return std::regex_search(l, re); });
}

// The XDP program attached to ifname, as `ip link` shows it ("" when none).
std::string xdp_on(const std::string &ifname)
{
	std::string out;
	sh("ip -o link show dev " + ifname, &out);
	size_t at = out.find(" prog/xdp");
	return at == std::string::npos ? "" : out.substr(at);
}

struct Rejected {
	const char *object;  // tests/progs/<object>.bpf.c, program of the same name
	const char *verb;    // "load" or "redirect add"
	std::regex reason;   // the verifier's reason, the log's last meaningful line
};

// The rows, one per way a program is refused: an access outside the packet, a helper XDP does
// not have, a loop the verifier cannot bound, and an egress program refused for the devmap.
const Rejected &row(int i)
{
	static const Rejected rows[] = {
		{"verr_pkt_oob", "load", std::regex(R"(invalid access to packet|R\d offset is outside of the packet)")},
		{"verr_helper", "load", std::regex(R"((unknown func|program of this type cannot use helper) bpf_skb_load_bytes#26)")},
		{"verr_loop", "load", std::regex(R"(infinite loop detected at insn \d+)")},
		{"verr_egress", "redirect add", std::regex(R"(invalid access to packet|R\d offset is outside of the packet)")},
	};
	return rows[i];
}
} // namespace

class CliVerifier : public XdpctlNetnsTest, public ::testing::WithParamInterface<int> {
protected:
	void SetUp() override
	{
		XdpctlNetnsTest::SetUp();
		if (HasFatalFailure())
			return;
		ASSERT_GT(add_veth("in0", "in0p").ifindex, 0);
		ASSERT_GT(add_veth("out0", "out0p").ifindex, 0);
	}

	// The command that loads the row's object: onto in0, or as the egress program of in0 -> out0
	// behind an xdp_redirect loaded first (which the refusal must leave as it was).
	std::string command(const Rejected &r, bool verbose)
	{
		std::string obj = kObjDir + "/" + r.object + ".bpf.o";
		std::string v = verbose ? " -v" : "";
		if (std::string(r.verb) == "load")
			return "load" + v + " " + obj + " in0";
		return "redirect add" + v + " in0 out0 --egress " + obj;
	}

	// What a refused command must not change: the pins, the devmaps and the attached programs.
	std::string state()
	{
		std::string s;
		for (const auto &p : tree(fs_->root()))
			s += p + "\n";
		s += "status: " + xdpctl("status -j").out;
		s += "in0:" + xdp_on("in0") + " out0:" + xdp_on("out0");
		return s;
	}
};

TEST_P(CliVerifier, ReasonInOneLineNothingLeftBehind)
{
	const Rejected &r = row(GetParam());
	if (std::string(r.verb) != "load") {
		ASSERT_EQ(xdpctl("load xdp_redirect in0").rc, 0);
	}
	std::string before = state();

	auto res = xdpctl(command(r, false));
	EXPECT_EQ(res.rc, 1) << res.err;
	auto lines = split_lines(res.err);
	ASSERT_EQ(lines.size(), 1U) << "one line: " << res.err;
	const std::string &l = lines[0];
	EXPECT_NE(l.find("the verifier rejected program '" + std::string(r.object) + "'"), std::string::npos) << l;
	EXPECT_TRUE(std::regex_search(l, r.reason)) << "the verifier's reason in: " << l;
	EXPECT_NE(l.find("(-v shows the verifier log)"), std::string::npos) << l;
	EXPECT_EQ(l.find("needs root"), std::string::npos) << "root is not what is missing: " << l;
	EXPECT_EQ(l.find("CAP_"), std::string::npos) << l;
	EXPECT_EQ(state(), before) << "nothing left behind, nothing changed";
	if (std::string(r.verb) == "load") {
		EXPECT_TRUE(tree(fs_->root()).empty()) << "no pin of the refused load";
	}
}

TEST_P(CliVerifier, VerboseShowsTheWholeLog)
{
	const Rejected &r = row(GetParam());
	if (std::string(r.verb) != "load") {
		ASSERT_EQ(xdpctl("load xdp_redirect in0").rc, 0);
	}
	std::string before = state();

	auto res = xdpctl(command(r, true));
	EXPECT_EQ(res.rc, 1) << res.err;
	auto lines = split_lines(res.err);
	ASSERT_GE(lines.size(), 3U) << res.err;
	// The log, from its header on: the program's first instruction and the reason are in it.
	auto head = std::find(lines.begin(), lines.end(), "verifier log of program '" + std::string(r.object) + "':");
	ASSERT_NE(head, lines.end()) << res.err;
	std::vector<std::string> log(head + 1, lines.end() - 1);
	EXPECT_TRUE(has_line(log, std::regex(R"(^0: \([0-9a-f]{2}\) )"))) << "first instruction in the log:\n" << res.err;
	EXPECT_TRUE(has_line(log, r.reason)) << "reason in the log:\n" << res.err;
	EXPECT_FALSE(has_line(log, std::regex("truncated"))) << res.err;
	// Then the one line, without the -v hint.
	const std::string &last = lines.back();
	EXPECT_TRUE(last.starts_with("xdpctl " + std::string(r.verb) + ": ")) << last;
	EXPECT_TRUE(std::regex_search(last, r.reason)) << last;
	EXPECT_EQ(last.find("-v shows"), std::string::npos) << last;
	EXPECT_EQ(state(), before) << "nothing left behind, nothing changed";
}

INSTANTIATE_TEST_SUITE_P(Rejected, CliVerifier, ::testing::Range(0, 4), [](const auto &info) {
	return std::string(row(info.param).object);
});
