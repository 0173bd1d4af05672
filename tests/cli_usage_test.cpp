// The real xdpctl binary asked what it is (--version) and given a verb it does not have.
#include <bpf/libbpf.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "bpffs_dir.hpp"
#include "cli_help.hpp"
#include "cli_json.hpp"
#include "netns.hpp"
#include "temp_dir.hpp"
#include "xdpctl/version.hpp"

using namespace xt;
namespace fs = std::filesystem;

namespace {
const std::string kBin = XDPCTL_BIN;
const std::string kSrc = XDPCTL_SOURCE_DIR;

std::string trimmed(std::string s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
		s.pop_back();
	return s;
}

// The commit cmake/version.cmake writes into its output file.
std::string commit_written(const std::string &src, const std::string &extra = {})
{
	std::string out = fs::temp_directory_path() / ("xdpctl-commit-" + std::to_string(getpid()) + ".cpp");
	std::string log;
	EXPECT_EQ(sh("cmake -DSRC=" + src + " -DOUT=" + out + " " + extra + " -P " + kSrc + "/cmake/version.cmake 2>&1", &log), 0)
		<< log;
	std::ifstream in(out);
	std::stringstream text;
	text << in.rdbuf();
	fs::remove(out);
	std::smatch m;
	std::string t = text.str();
	return std::regex_search(t, m, std::regex("xdpctl_commit\\[\\] = \"([^\"]*)\"")) ? m[1].str() : "(none)";
}
} // namespace

// `xdpctl --version`: the project's version, the commit the binary was built from (what git says
// of this tree now, as the build ran git), libbpf's version; on stdout, exit 0.
TEST(CliVersion, NamesVersionCommitAndLibbpf)
{
	auto r = run_cmd(kBin + " --version");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_TRUE(r.err.empty()) << "nothing on stderr: " << r.err;
	std::smatch m;
	ASSERT_TRUE(std::regex_match(r.out, m, std::regex("xdpctl (\\S+) \\(commit (\\S+)\\)\nusing libbpf (\\S+)\n")))
		<< "two lines, version and commit, libbpf: " << r.out;
	EXPECT_EQ(m[1].str(), XDPCTL_VERSION) << "project(VERSION) of CMakeLists.txt";
	EXPECT_TRUE(std::regex_match(m[1].str(), std::regex("[0-9]+\\.[0-9]+\\.[0-9]+"))) << m[1];
	EXPECT_EQ(m[3].str(), libbpf_version_string()) << "the libbpf it runs with";

	if (!fs::exists(kSrc + "/.git") || run_cmd("command -v git").rc != 0)
		GTEST_SKIP() << "the source tree is not a git checkout here: no commit to compare with";
	std::string head, status;
	ASSERT_EQ(sh("git -C " + kSrc + " rev-parse --short=12 HEAD", &head), 0);
	int dirty = sh("git -C " + kSrc + " diff --quiet HEAD --", &status);
	EXPECT_EQ(m[2].str(), trimmed(head) + (dirty ? "-dirty" : "")) << "the commit of the tree it was built from";
}

// A tree made by `git archive` has no .git: the commit comes from cmake/commit.txt, which the
// archive fills in (export-subst). Without either it says "unknown"; a packager's COMMIT wins.
TEST(CliVersion, TarballWithoutGitKnowsItsCommit)
{
	if (!fs::exists(kSrc + "/.git") || run_cmd("command -v git && command -v cmake && command -v tar").rc != 0)
		GTEST_SKIP() << "needs the source tree's git checkout, git, cmake and tar (the lane's guest has none)";
	TempDir tmp("xdpctl-archive");
	ASSERT_TRUE(tmp.ok());
	const std::string &dir = tmp.path();
	std::string log, head;
	ASSERT_EQ(sh("git -C " + kSrc + " archive HEAD cmake | tar -x -C " + dir + " 2>&1", &log), 0) << log;
	ASSERT_EQ(sh("git -C " + kSrc + " rev-parse --short=12 HEAD", &head), 0);
	EXPECT_FALSE(fs::exists(dir + "/.git")) << "an archive has no .git";
	EXPECT_EQ(commit_written(dir), trimmed(head)) << "the archive's commit.txt names HEAD";
	EXPECT_EQ(commit_written(dir, "-DCOMMIT=1234abcd"), "1234abcd") << "a given commit wins";
	fs::remove(dir + "/cmake/commit.txt");
	EXPECT_EQ(commit_written(dir), "unknown") << "neither git nor commit.txt";
}

// A verb xdpctl (or one of its commands with verbs) does not have: one line, exit 2, naming the
// word, the closest verb when one is near, and every verb `--help` lists; the same as JSON with
// -j; nothing created.
TEST(CliUsage, UnknownVerbNamesItAndListsTheVerbs)
{
	struct Row {
		const char *what;
		std::string cmd;    // the command whose verb is wrong ("" = xdpctl)
		std::string args;   // what follows xdpctl
		std::string word;   // the unknown verb
		std::string closest; // "" when none is near
	};
	const Row rows[] = {
		{"typo of load", "", "lod", "lod", "load"},
		{"typo with arguments after it", "", "unlaod lo", "unlaod", "unload"},
		{"nothing near", "", "frobnicate", "frobnicate", ""},
		{"after a global flag", "", "-v feature", "feature", "features"},
		{"ctl: nothing near", "ctl", "ctl frobnicate", "frobnicate", ""},
		{"ctl: after its option", "ctl", "ctl --backend user stat", "stat", "stats"},
		{"redirect: typo of add", "redirect", "redirect ad lo lo", "ad", "add"},
		{"multicast mac: typo of del", "multicast mac", "multicast mac dell aa:bb:cc:dd:ee:ff", "dell", "del"},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		auto help = run_cmd(kBin + " " + r.cmd + " --help");
		ASSERT_EQ(help.rc, 0);
		auto verbs = subcommands_in(help.out);
		ASSERT_FALSE(verbs.empty()) << help.out;
		std::string list;
		for (const auto &v : verbs)
			list += (list.empty() ? "" : ", ") + v;

		BpffsDir bfs;
		ASSERT_TRUE(bfs.ok());
		std::string env = "XDPCTL_BPFFS=" + bfs.root();
		auto res = run_cmd(kBin + " " + r.args, env);
		EXPECT_EQ(res.rc, 2) << "usage error; stderr: " << res.err;
		EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << "one line: " << res.err;
		std::string prefix = "xdpctl" + (r.cmd.empty() ? "" : " " + r.cmd) + ": unknown verb '" + r.word + "'";
		EXPECT_EQ(res.err.rfind(prefix, 0), 0u) << "starts with '" << prefix << "': " << res.err;
		EXPECT_NE(res.err.find("verbs: " + list + ";"), std::string::npos) << "lists " << list << ": " << res.err;
		if (r.closest.empty())
			EXPECT_EQ(res.err.find("did you mean"), std::string::npos) << res.err;
		else
			EXPECT_NE(res.err.find("did you mean '" + r.closest + "'?"), std::string::npos) << res.err;
		EXPECT_TRUE(res.out.empty()) << "nothing on stdout: " << res.out;

		auto js = run_cmd(kBin + " -j " + r.args, env);
		EXPECT_EQ(js.rc, 2) << "the same exit code with -j";
		EXPECT_EQ(js.err, res.err) << "the same line with -j";
		expect_json_error(js.out, 2, "unknown verb '" + r.word + "'");
		EXPECT_TRUE(tree(bfs.root()).empty()) << "nothing pinned";
	}
}

// No verb at all: the same treatment, the verbs listed.
TEST(CliUsage, MissingVerbListsTheVerbs)
{
	for (std::string cmd : {"", "ctl", "monitor"}) {
		SCOPED_TRACE("xdpctl " + cmd);
		auto help = run_cmd(kBin + " " + cmd + " --help");
		std::string list;
		for (const auto &v : subcommands_in(help.out))
			list += (list.empty() ? "" : ", ") + v;
		auto res = run_cmd(kBin + " " + cmd);
		EXPECT_EQ(res.rc, 2) << res.err;
		EXPECT_EQ(res.err, "xdpctl" + (cmd.empty() ? "" : " " + cmd) + ": A subcommand is required: " + list +
					   "; see xdpctl " + (cmd.empty() ? "" : cmd + " ") + "--help\n");
		EXPECT_TRUE(res.out.empty()) << res.out;
	}
}
