// The man pages and the bash completion the build made from xdpctl's own CLI definitions
// (loader/cli/docs.cpp): what the binary makes now, every option and verb of --help in its page,
// pages man renders without a warning, completion of verbs, flags, programs and interfaces.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bpffs_dir.hpp"
#include "cli_help.hpp"
#include "temp_dir.hpp"

using namespace xt;
namespace fs = std::filesystem;

namespace {
const std::string kBin = XDPCTL_BIN;
const std::string kMan = std::string(XDPCTL_GEN_DIR) + "/man";
const std::string kCompletion = std::string(XDPCTL_GEN_DIR) + "/xdpctl.bash";

std::string slurp(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

// Runs of blanks and newlines as one space: text compared as words, whatever the layout.
std::string words(const std::string &s)
{
	std::string out;
	for (char c : s) {
		bool blank = c == ' ' || c == '\t' || c == '\n';
		if (blank && (out.empty() || out.back() == ' '))
			continue;
		out += blank ? ' ' : c;
	}
	return out;
}

struct HelpEntry {
	std::string name; // "-m,--mode TEXT:{native,skb}", "program TEXT", "add"
	std::string desc;
};

// The entries of the Positionals:, Options: and Subcommands: sections of a CLI11 help text. An
// entry's description is on its line after two blanks, or alone on the next, further indented.
std::vector<HelpEntry> help_entries(const std::string &help)
{
	std::vector<HelpEntry> out;
	std::istringstream in(help);
	bool inside = false;
	for (std::string l; std::getline(in, l);) {
		if (l == "Positionals:" || l == "Options:" || l == "Subcommands:") {
			inside = true;
			continue;
		}
		if (!inside || l.size() < 3 || l[0] != ' ') {
			inside = inside && !l.empty() && l[0] == ' ';
			continue;
		}
		size_t start = l.find_first_not_of(' ');
		if (start > 2) { // a description continued on its own line
			if (!out.empty())
				out.back().desc += (out.back().desc.empty() ? "" : " ") + l.substr(start);
			continue;
		}
		size_t gap = l.find("  ", start);
		HelpEntry e{l.substr(start, gap == std::string::npos ? std::string::npos : gap - start), ""};
		if (size_t d = gap == std::string::npos ? gap : l.find_first_not_of(' ', gap); d != std::string::npos)
			e.desc = l.substr(d);
		out.push_back(e);
	}
	return out;
}

// The page as `man` shows it (wide, plain text); warnings from groff go to *warnings.
std::string render(const std::string &page, std::string *warnings)
{
	std::string err = fs::temp_directory_path() / ("xdpctl-man-" + std::to_string(getpid()) + ".err");
	auto r = run_cmd("MANWIDTH=400 LANG=C man --warnings -l " + page + " 2>" + err + " | col -b");
	*warnings = slurp(err);
	fs::remove(err);
	return r.out;
}

std::vector<std::string> completions(const std::string &line)
{
	// in an empty directory, so that file name completion adds nothing of its own
	TempDir dir("xdpctl-complete");
	EXPECT_TRUE(dir.ok());
	std::string script = "source " + kCompletion + "; line='" + line +
			     "'; read -ra COMP_WORDS <<< \"$line\"; [[ $line == *' ' ]] && COMP_WORDS+=(''); "
			     "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _xdpctl; printf '%s\\n' \"${COMPREPLY[@]}\"";
	std::ofstream(dir.path() + "/t.sh") << script;
	auto r = run_cmd("(cd " + dir.path() + " && bash t.sh)");
	EXPECT_EQ(r.rc, 0) << r.err;
	std::vector<std::string> out;
	std::istringstream in(r.out);
	for (std::string w; std::getline(in, w);)
		if (!w.empty())
			out.push_back(w);
	std::sort(out.begin(), out.end());
	return out;
}

// The pages and the completion are the build tree's, read with the host's man, col and bash: the
// kernel lane's guest has neither (its tests are the binaries alone, on a busybox root).
std::string host_lacks()
{
	if (!fs::exists(kMan) || !fs::exists(kCompletion))
		return "no generated pages in " + kMan;
	for (const char *tool : {"man", "col", "bash"})
		if (run_cmd(std::string("command -v ") + tool).rc != 0)
			return std::string("no ") + tool + " here";
	return {};
}
#define SKIP_WITHOUT_HOST_TOOLS()                                                                      \
	if (std::string why = host_lacks(); !why.empty())                                              \
	GTEST_SKIP() << why

std::vector<std::string> sorted(std::vector<std::string> v)
{
	std::sort(v.begin(), v.end());
	return v;
}
} // namespace

// The pages the build installed are the ones the binary makes now (none stale, none missing).
TEST(CliDocs, PagesAreWhatTheBinaryMakesNow)
{
	SKIP_WITHOUT_HOST_TOOLS();
	TempDir tmp("xdpctl-man");
	ASSERT_TRUE(tmp.ok());
	const std::string &dir = tmp.path();
	auto r = run_cmd(kBin + " --generate-man " + dir);
	ASSERT_EQ(r.rc, 0) << r.err;
	std::set<std::string> built, now;
	for (const auto &e : fs::directory_iterator(kMan))
		built.insert(e.path().filename());
	for (const auto &e : fs::directory_iterator(dir))
		now.insert(e.path().filename());
	EXPECT_EQ(built, now) << "the same pages";
	for (const auto &p : now)
		EXPECT_EQ(slurp(kMan + "/" + p), slurp(dir + "/" + p)) << p << " is up to date";
	auto c = run_cmd(kBin + " --generate-completion");
	EXPECT_EQ(c.out, slurp(kCompletion)) << "the completion is up to date";
}

// Walking --help from the top: every command has a page (a verb its own, a verb's verbs a section
// of it), man renders it without a warning, and every positional, option and verb --help lists
// is there with the same name, value label and description.
TEST(CliDocs, EveryEntryOfHelpIsInItsPage)
{
	SKIP_WITHOUT_HOST_TOOLS();
	std::vector<std::string> todo = {""};
	std::map<std::string, std::string> rendered;
	size_t checked = 0;
	while (!todo.empty()) {
		std::string cmd = todo.front();
		todo.erase(todo.begin());
		SCOPED_TRACE("xdpctl " + cmd);
		auto h = run_cmd(kBin + " " + cmd + " --help");
		ASSERT_EQ(h.rc, 0);
		for (const auto &sub : subcommands_in(h.out))
			todo.push_back(cmd.empty() ? sub : cmd + " " + sub);

		std::string verb = cmd.substr(0, cmd.find(' '));
		std::string page = kMan + "/xdpctl" + (verb.empty() ? "" : "-" + verb) + ".8";
		ASSERT_TRUE(fs::exists(page)) << page;
		if (!rendered.contains(page)) { // a verb's verbs share its page: rendered once
			std::string warnings;
			rendered[page] = words(render(page, &warnings));
			EXPECT_TRUE(warnings.empty()) << "man renders " << page << " without warnings: " << warnings;
		}
		const std::string &text = rendered[page];
		EXPECT_NE(text.find("xdpctl " + cmd), std::string::npos) << "the page names the command";

		auto entries = help_entries(h.out);
		auto verbs = subcommands_in(h.out);
		EXPECT_FALSE(entries.empty()) << h.out;
		for (const auto &e : entries) {
			bool is_verb = std::ranges::find(verbs, e.name) != verbs.end();
			std::string want = is_verb ? words(e.desc) : words(e.name + " " + e.desc);
			EXPECT_NE(text.find(want), std::string::npos) << "in " << page << ": " << want;
			checked++;
		}
	}
	EXPECT_GT(checked, 100u) << "entries compared";
}

// Completion of verbs (at every level), flags, option values, program names (what
// `xdpctl load --list` lists) and interface names (what this namespace has).
TEST(CliDocs, BashCompletion)
{
	SKIP_WITHOUT_HOST_TOOLS();
	auto top = subcommands_in(run_cmd(kBin + " --help").out);
	EXPECT_EQ(completions("xdpctl "), sorted(top)) << "every verb";
	EXPECT_EQ(completions("xdpctl lo"), std::vector<std::string>{"load"});
	EXPECT_EQ(completions("xdpctl -j sta"), (std::vector<std::string>{"stats", "status"})) << "after a flag";
	EXPECT_EQ(completions("xdpctl ctl "), sorted(subcommands_in(run_cmd(kBin + " ctl --help").out)));
	EXPECT_EQ(completions("xdpctl multicast mac a"), std::vector<std::string>{"add"}) << "three levels";
	EXPECT_EQ(completions("xdpctl load --li"), std::vector<std::string>{"--list"});
	auto stats_flags = completions("xdpctl stats -");
	for (const char *f : {"-i", "--interval", "-c", "--count", "-e", "--extended", "-j", "--json", "--help"})
		EXPECT_NE(std::ranges::find(stats_flags, f), stats_flags.end()) << f << " of stats";
	EXPECT_EQ(std::ranges::find(stats_flags, "--list"), stats_flags.end()) << "load's flag is not stats'";

	auto list = nlohmann::json::parse(run_cmd(kBin + " load --list -j").out);
	std::vector<std::string> programs, xdp_programs;
	for (const auto &p : list)
		programs.push_back(p.at("name"));
	EXPECT_EQ(completions("xdpctl load "), sorted(programs)) << "the programs of load --list";
	EXPECT_EQ(completions("xdpctl redirect add lo lo --egress "), sorted(programs)) << "--egress takes a program";

	std::vector<std::string> ifs;
	for (const auto &e : fs::directory_iterator("/sys/class/net"))
		ifs.push_back(e.path().filename());
	EXPECT_EQ(completions("xdpctl load xdp_pass "), sorted(ifs)) << "interfaces after the program";
	EXPECT_EQ(completions("xdpctl load xdp_pass lo "), sorted(ifs)) << "and after the first interface";
	EXPECT_EQ(completions("xdpctl redirect add "), sorted(ifs)) << "redirect IN";
	EXPECT_EQ(completions("xdpctl stats -i 2 "), sorted(ifs)) << "after an option and its value";
	EXPECT_EQ(completions("xdpctl load -m native xdp_pa"), std::vector<std::string>{"xdp_pass"});
}
