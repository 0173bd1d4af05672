// xdpctl apply / diff / export / config schema, run as a user runs them, in a namespace of their
// own with three veth pairs (a0-a0p, a1-a1p, a2-a2p) and a private bpffs: apply makes what status
// shows, twice is "no changes", diff's lines and exit codes, export | apply reproduces a
// namespace, a changed program is swapped alone, a file that fails half way or is bad changes
// nothing, patterns match what they should, multicast groups and MACs, real frames take a rule
// apply wrote, reattaches (a lone one, whose unload empties the maps, undone whole; two, which
// keep them), a swap under traffic that loses no frame, a half-pinned monitor finished, and a file that cannot be made leaves nothing.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "bpffs_dir.hpp"
#include "cli_help.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "packet.hpp"
#include "temp_dir.hpp"
#include "traffic.hpp"
#include "wire_capture.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/monitor.hpp"
#include "xdpctl_fixture.hpp"

using namespace xt;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

// Two programs that redirect, a rule between them: the file most tests start from.
const char *const kBase = R"(interfaces:
  - name: a0
    program: xdp_redirect
  - name: a1
    program: xdp_redirect
redirect:
  - in: a0
    out: a1
)";

// status -j without what a reload changes (prog, link and map ids, a group's slot keys, which
// follow the order of adds): per interface with a program its program, mode, owner and
// counters; per devmap (by name) its type, size and entries; the MAC table.
json shape(const json &st)
{
	json out = {{"interfaces", json::array()}, {"devmaps", json::object()}};
	for (const auto &i : st.at("interfaces"))
		if (i.at("prog_id") != 0)
			out["interfaces"].push_back({{"ifname", i.at("ifname")}, {"mode", i.at("mode")}, {"prog", i.at("prog")},
						     {"owned", i.at("owned")}, {"counters", i.at("counters")}});
	for (const auto &d : st.at("devmaps")) {
		std::vector<std::string> e;
		for (const auto &x : d.at("entries"))
			e.push_back((d.at("key") == "slot" ? std::string() : std::to_string(x.at("key").get<uint32_t>()) + " ") +
				    x.at("ifname").get<std::string>() + " " + x.at("egress_prog").get<std::string>());
		std::sort(e.begin(), e.end());
		out["devmaps"][d.at("name").get<std::string>()] = {
			{"type", d.at("type")}, {"max_entries", d.at("max_entries")}, {"entries", e}};
	}
	out["multicast_macs"] = st.at("multicast_macs");
	return out;
}

// The keys of a JSON object, sorted.
std::vector<std::string> keys_of(const json &o)
{
	std::vector<std::string> keys;
	for (const auto &[k, v] : o.items())
		keys.push_back(k);
	std::sort(keys.begin(), keys.end());
	return keys;
}

const json *iface(const json &st, const std::string &name)
{
	for (const auto &i : st.at("interfaces"))
		if (i.at("ifname") == name)
			return &i;
	return nullptr;
}
} // namespace

class CliApply : public XdpctlNetnsTest {
protected:
	void SetUp() override
	{
		XdpctlNetnsTest::SetUp();
		if (HasFatalFailure() || IsSkipped())
			return;
		ASSERT_TRUE(dir_.ok()) << "temp dir";
		for (const auto &v : add_veths({{"a0", "a0p"}, {"a1", "a1p"}, {"a2", "a2p"}}))
			ASSERT_GT(v.ifindex, 0) << "veth " << v.name;
	}
	void TearDown() override
	{
		if (fs_)
			(void)xdpctl::stop_pinned_monitor(); // unload --all (the fixture's) leaves the monitor
		XdpctlNetnsTest::TearDown();
	}
	// Writes a file of the test's temp dir; returns its path.
	std::string file(const std::string &name, const std::string &yaml)
	{
		std::string path = dir_.path() + "/" + name;
		std::ofstream(path) << yaml;
		return path;
	}
	json status()
	{
		auto r = xdpctl("status -j");
		EXPECT_EQ(r.rc, 0) << "status: " << r.err;
		auto j = json::parse(r.out, nullptr, false);
		EXPECT_TRUE(j.is_object()) << "status -j is JSON: " << r.out;
		return j.is_object() ? j : json{{"interfaces", json::array()}, {"devmaps", json::array()}, {"multicast_macs", json::array()}};
	}

	TempDir dir_{"xdpctl-apply"};
};

// apply prints one line per step and makes what status shows; the same file again is "no
// changes" (exit 0) and touches nothing: every id the same. diff says the same, exit 1 before
// and 0 after, in text and JSON.
TEST_F(CliApply, ApplyMakesWhatStatusShowsAndTwiceIsNoChanges)
{
	std::string f = file("ns.yaml", std::string(kBase) + "  - in: a1\n    out: a0\n");
	const std::string steps = "+ interface a0: xdp_redirect (native, counters on)\n"
				  "+ interface a1: xdp_redirect (native, counters on)\n"
				  "+ redirect a0: -> a1\n"
				  "+ redirect a1: -> a0\n";
	auto d = xdpctl("diff -f " + f);
	EXPECT_EQ(d.rc, 1) << "diff: something differs; " << d.err;
	EXPECT_EQ(d.out, steps) << "diff's lines";
	auto dj = xdpctl("diff -j -f " + f);
	EXPECT_EQ(dj.rc, 1) << dj.err;
	auto j = json::parse(dj.out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << dj.out;
	EXPECT_EQ(j.at("differs"), true);
	ASSERT_EQ(j.at("steps").size(), 4u) << dj.out;
	EXPECT_EQ(j["steps"][0].at("op"), "+");
	EXPECT_EQ(j["steps"][0].at("object"), "interface");
	EXPECT_TRUE(j["steps"][0].at("from").is_null()) << "an add has no from";
	EXPECT_EQ(j["steps"][0].at("to").at("ifname"), "a0");
	EXPECT_EQ(j["steps"][0].at("to").at("program"), "xdp_redirect");
	EXPECT_EQ(j["steps"][2].at("object"), "redirect");
	EXPECT_EQ(j["steps"][2].at("to"), (json{{"in", "a0"}, {"out", "a1"}, {"egress", nullptr}}));
	EXPECT_EQ(j["steps"][3].at("line"), "+ redirect a1: -> a0");
	EXPECT_TRUE(shape(status()).at("interfaces").empty()) << "diff changed nothing";

	auto a = xdpctl("apply -f " + f);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, steps) << "apply prints the steps it took";
	EXPECT_TRUE(a.err.empty()) << a.err;

	json st = status();
	for (const char *n : {"a0", "a1"}) {
		const json *i = iface(st, n);
		ASSERT_NE(i, nullptr) << n;
		EXPECT_EQ(i->at("prog"), "xdp_redirect_devmap") << n;
		EXPECT_EQ(i->at("mode"), "native") << n;
		EXPECT_EQ(i->at("owned"), true) << n;
		EXPECT_EQ(i->at("counters"), true) << n;
		EXPECT_NE(i->at("link_id"), 0) << n;
	}
	for (const char *n : {"a0p", "a1p", "a2", "a2p", "lo"})
		EXPECT_EQ(iface(st, n)->at("prog_id"), 0) << n << " has no program";
	std::vector<std::string> rules = {std::to_string(ifindex_of("a0")) + " a1 ", std::to_string(ifindex_of("a1")) + " a0 "};
	std::sort(rules.begin(), rules.end());
	const json devmaps = shape(st).at("devmaps");
	EXPECT_EQ(devmaps.at("tx_port").at("entries"), json(rules)) << "tx_port holds both rules, no egress program";
	EXPECT_EQ(devmaps.at("tx_port_hash").at("entries"), json(rules)) << "and its hash twin";

	auto again = xdpctl("apply -f " + f);
	EXPECT_EQ(again.rc, 0) << again.err;
	EXPECT_EQ(again.out, "no changes\n");
	EXPECT_EQ(status(), st) << "nothing touched: every prog, link and map id the same";
	auto same = xdpctl("diff -f " + f);
	EXPECT_EQ(same.rc, 0) << "diff: nothing differs; " << same.err;
	EXPECT_EQ(same.out, "no changes\n");
	auto sj = xdpctl("diff -j -f " + f);
	EXPECT_EQ(sj.rc, 0);
	EXPECT_EQ(json::parse(sj.out, nullptr, false), (json{{"differs", false}, {"steps", json::array()}})) << sj.out;
	auto aj = xdpctl("apply -j -f " + f);
	EXPECT_EQ(aj.rc, 0);
	EXPECT_EQ(json::parse(aj.out, nullptr, false), (json{{"changed", false}, {"steps", json::array()}})) << aj.out;
}

// A changed program is swapped in place on its own link; the interface whose entry did not
// change keeps its link and program (so its counters); what the file drops is removed, rules
// before the interfaces; an empty file empties the namespace and leaves no pin.
TEST_F(CliApply, OnlyWhatDiffersIsTouched)
{
	ASSERT_EQ(xdpctl("apply -f " + file("a.yaml", kBase)).rc, 0);
	json before = status();

	std::string b = file("b.yaml", R"(interfaces:
  - name: a0
    program: xdp_redirect
  - name: a1
    program: xdp_pass
  - name: a2
    program: xdp_pass
)");
	const std::string steps = "~ interface a1: xdp_redirect (native, counters on) => xdp_pass (native, counters on)\n"
				  "+ interface a2: xdp_pass (native, counters on)\n"
				  "- redirect a0: -> a1\n";
	auto d = xdpctl("diff -f " + b);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, steps);
	auto dj = json::parse(xdpctl("diff -j -f " + b).out, nullptr, false);
	ASSERT_TRUE(dj.is_object());
	EXPECT_EQ(dj["steps"][0].at("op"), "~");
	EXPECT_EQ(dj["steps"][0].at("from").at("program"), "xdp_redirect");
	EXPECT_EQ(dj["steps"][0].at("to").at("program"), "xdp_pass");
	EXPECT_EQ(dj["steps"][0].at("reattach"), false) << "same mode: a swap, not a reattach";
	EXPECT_EQ(dj["steps"][2].at("from"), (json{{"in", "a0"}, {"out", "a1"}, {"egress", nullptr}}));
	EXPECT_TRUE(dj["steps"][2].at("to").is_null()) << "a remove has no to";

	auto a = xdpctl("apply -f " + b);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, steps);
	json after = status();
	const json *a0 = iface(after, "a0"), *a1 = iface(after, "a1"), *a2 = iface(after, "a2");
	ASSERT_TRUE(a0 && a1 && a2);
	EXPECT_EQ(a0->at("prog_id"), iface(before, "a0")->at("prog_id")) << "a0 unchanged: the same program instance";
	EXPECT_EQ(a0->at("link_id"), iface(before, "a0")->at("link_id")) << "a0 unchanged: the same link";
	EXPECT_EQ(a1->at("link_id"), iface(before, "a1")->at("link_id")) << "a1 swapped on its own link";
	EXPECT_NE(a1->at("prog_id"), iface(before, "a1")->at("prog_id")) << "a1 runs a new program";
	EXPECT_EQ(a1->at("prog"), "xdp_pass_prog");
	EXPECT_EQ(a2->at("prog"), "xdp_pass_prog");
	EXPECT_TRUE(shape(after).at("devmaps").at("tx_port").at("entries").empty()) << "the rule went";
	EXPECT_EQ(xdpctl("apply -f " + b).out, "no changes\n");

	auto e = xdpctl("apply -f " + file("empty.yaml", "interfaces: []\n"));
	ASSERT_EQ(e.rc, 0) << e.err;
	EXPECT_EQ(e.out, "- interface a0: xdp_redirect (native, counters on)\n"
			 "- interface a1: xdp_pass (native, counters on)\n"
			 "- interface a2: xdp_pass (native, counters on)\n");
	EXPECT_TRUE(shape(status()).at("interfaces").empty()) << "no program left";
	EXPECT_TRUE(tree(fs_->root()).empty()) << "no pin left under ROOT";
}

// export describes the namespace (JSON checked field by field); on a namespace emptied by
// unload --all and monitor stop, apply of that export (read from stdin) makes the same status
// (ids aside), the monitor runs again, and diff of the export then finds nothing.
TEST_F(CliApply, ExportThenApplyOnACleanNamespaceReproducesIt)
{
	std::string rich = file("rich.yaml", R"(interfaces:
  - name: a0
    program: xdp_redirect
  - name: a0p
    program: xdp_pass
    counters: false
  - match: "a[12]"
    program: xdp_broadcast
    mode: skb
redirect:
  - in: a0
    out: a1
    egress:
      program: xdp_egress
      src_mac: true
broadcast:
  - ports: [a0, a1]
  - ports: [a2]
    egress:
      program: xdp_egress
monitor: true
)");
	auto a = xdpctl("apply -f " + rich);
	ASSERT_EQ(a.rc, 0) << a.err;
	json before = shape(status());
	ASSERT_EQ(before.at("interfaces").size(), 4u) << before.dump();

	auto ej = xdpctl("export -j");
	ASSERT_EQ(ej.rc, 0) << ej.err;
	json want = {
		{"version", 1},
		{"interfaces",
		 {{{"name", "a0"}, {"program", "xdp_redirect"}, {"mode", "native"}, {"counters", true}},
		  {{"name", "a0p"}, {"program", "xdp_pass"}, {"mode", "native"}, {"counters", false}},
		  {{"name", "a1"}, {"program", "xdp_broadcast"}, {"mode", "skb"}, {"counters", true}},
		  {{"name", "a2"}, {"program", "xdp_broadcast"}, {"mode", "skb"}, {"counters", true}}}},
		{"redirect", json::array({{{"in", "a0"}, {"out", "a1"}, {"egress", {{"program", "xdp_egress"}, {"src_mac", true}}}}})},
		{"broadcast",
		 {{{"ports", json::array({"a0", "a1"})}}, {{"ports", json::array({"a2"})}, {"egress", {{"program", "xdp_egress"}}}}}},
		{"multicast", {{"groups", json::array()}, {"macs", json::array()}}},
		{"monitor", true},
	};
	EXPECT_EQ(json::parse(ej.out, nullptr, false), want) << ej.out;

	auto ex = xdpctl("export");
	ASSERT_EQ(ex.rc, 0) << ex.err;
	std::string exported = file("exported.yaml", ex.out);

	ASSERT_EQ(xdpctl("unload --all").rc, 0);
	ASSERT_EQ(xdpctl("monitor stop").rc, 0);
	EXPECT_TRUE(shape(status()).at("interfaces").empty()) << "a clean namespace";
	EXPECT_NE(xdpctl("monitor show").rc, 0) << "no monitor";

	// the file on stdin: a redirection, so through the shell (xdpctl() runs no shell)
	auto r = run_cmd(ns().exec() + XDPCTL_BIN " apply -f - < " + exported, env());
	ASSERT_EQ(r.rc, 0) << r.err << "\nthe export:\n" << ex.out;
	EXPECT_EQ(lines(r.out), 4u + 1 + 3 + 1) << "4 loads, 1 rule, 3 ports, the monitor: " << r.out;
	EXPECT_EQ(shape(status()), before) << "the same programs, modes, counters and devmap entries";
	EXPECT_EQ(xdpctl("monitor show -j").rc, 0) << "the monitor runs again";
	auto d = xdpctl("diff -f " + exported);
	EXPECT_EQ(d.rc, 0) << d.out << d.err;
	EXPECT_EQ(xdpctl("diff -f " + rich).rc, 0) << "and it is what the first file said";
}

// A file whose first steps succeed and whose last one fails (an egress program the verifier
// rejects) undoes the steps before it: status (every id), the pins and the record are as before.
// A file naming an interface that is not there changes nothing either (found before any step).
TEST_F(CliApply, AFileWhoseSecondHalfFailsChangesNothing)
{
	std::string base = file("base.yaml", kBase);
	ASSERT_EQ(xdpctl("apply -f " + base).rc, 0);
	json before = status();
	auto pins = tree(fs_->mount_point());

	std::string bad = file("bad.yaml", std::string(R"(interfaces:
  - name: a0
    program: xdp_redirect
  - name: a1
    program: xdp_redirect
  - name: a2
    program: xdp_redirect
redirect:
  - in: a0
    out: a2
  - in: a1
    out: a0
    egress:
      program: )") + kObjDir + "/verr_egress.bpf.o\n");
	auto d = xdpctl("diff -f " + bad);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, "+ interface a2: xdp_redirect (native, counters on)\n"
			 "~ redirect a0: -> a1 => -> a2\n"
			 "+ redirect a1: -> a0 egress " + kObjDir + "/verr_egress.bpf.o\n")
		<< "two steps that work before the one that fails";
	auto r = xdpctl("apply -f " + bad);
	EXPECT_EQ(r.rc, 1) << r.out;
	EXPECT_EQ(lines(r.err), 1u) << "one line: " << r.err;
	EXPECT_TRUE(r.err.starts_with("xdpctl apply: ")) << r.err;
	EXPECT_TRUE(r.out.empty()) << r.out;
	EXPECT_EQ(status(), before) << "a2 unloaded again, a0's rule back to a1, every id as it was";
	EXPECT_EQ(tree(fs_->mount_point()), pins) << "no pin added or lost";
	EXPECT_EQ(xdpctl("diff -f " + base).out, "no changes\n") << "the record is the base again";

	std::string missing = file("missing.yaml", R"(interfaces:
  - name: a2
    program: xdp_pass
  - name: nosuch0
    program: xdp_pass
)");
	auto m = xdpctl("apply -f " + missing);
	EXPECT_EQ(m.rc, 1);
	EXPECT_EQ(m.err, "xdpctl apply: " + missing +
				 ":4:11: interface 'nosuch0' is not in this network namespace (see `ip link`) (No such device)\n");
	EXPECT_TRUE(m.out.empty()) << m.out;
	EXPECT_EQ(status(), before) << "nothing changed";
	EXPECT_EQ(tree(fs_->mount_point()), pins) << "no pin added";
	auto md = xdpctl("diff -f " + missing);
	EXPECT_EQ(md.rc, 2) << "diff: trouble";
	EXPECT_EQ(lines(md.err), 1u) << md.err;
}

struct BadFile {
	const char *what;
	const char *yaml;
	int line, column; // 0: not checked (a YAML syntax error: where the parser noticed it)
	const char *says;
};

// Bad files: one line "xdpctl VERB: FILE:LINE:COLUMN: what", exit 2 for apply and diff, the same
// as JSON with -j, nothing created in the bpffs (not even ROOT).
TEST_F(CliApply, BadFilesAreOneLocatedLineExitTwoAndChangeNothing)
{
	const std::vector<BadFile> rows = {
		{"unknown key at the top", "interfaces: []\nfrobnicate: 1\n", 2, 1,
		 "unknown key 'frobnicate' in the file (known: version, interfaces, redirect, broadcast, multicast, monitor)"},
		{"unknown key in an interface", "interfaces:\n  - name: a0\n    program: xdp_pass\n    colour: red\n", 4, 5,
		 "unknown key 'colour' in an interface (known: name, match, program, prog, mode, counters, dev_bound)"},
		{"a number for a boolean", "interfaces:\n  - name: a0\n    program: xdp_pass\n    counters: 3\n", 4, 15,
		 "'counters' must be true or false, not '3'"},
		{"a string for a list", "interfaces: a0\n", 1, 13, "'interfaces' must be a list, not 'a0'"},
		{"a number for a name", "redirect:\n  - in: a0\n    out: 12\n", 3, 10,
		 "'out' must be a string, not a number (quote it: \"12\")"},
		{"an unknown mode", "interfaces:\n  - name: a0\n    program: xdp_pass\n    mode: turbo\n", 4, 11,
		 "'mode' must be native or skb, not 'turbo'"},
		{"a group out of range", "multicast:\n  groups:\n    - group: 7\n      ports: [a0]\n", 3, 14,
		 "'group' must be 0..3, not 7"},
		{"an unknown program", "interfaces:\n  - name: a0\n    program: xdp_nope\n", 3, 14, "unknown program 'xdp_nope'"},
		{"a pattern as a name", "interfaces:\n  - name: a*\n    program: xdp_pass\n", 2, 11,
		 "'name' names one interface; a pattern such as 'a*' goes in 'match'"},
		{"an interface twice", "interfaces:\n  - name: a0\n    program: xdp_pass\n  - name: a0\n    program: xdp_pass\n", 4,
		 11, "interface 'a0' given twice (first at line 2)"},
		{"a key without a value", "interfaces:\n  - name: a0\n    program:\n", 3, 5, "'program' has no value"},
		{"an egress program on an interface", "interfaces:\n  - name: a0\n    program: xdp_egress\n", 3, 14,
		 "'xdp_egress' is a devmap egress program"},
		{"not YAML", "interfaces:\n  - name: a0\n    program: [xdp_pass\n", 0, 0, ""},
	};
	const auto fresh = tree(fs_->mount_point());
	for (size_t k = 0; k < rows.size(); k++) {
		const auto &r = rows[k];
		SCOPED_TRACE(r.what);
		std::string f = file("bad" + std::to_string(k) + ".yaml", r.yaml);
		for (const char *verb : {"apply", "diff"}) {
			auto res = xdpctl(std::string(verb) + " -f " + f);
			EXPECT_EQ(res.rc, 2) << verb << ": " << res.err;
			EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
			EXPECT_TRUE(res.out.empty()) << res.out;
			std::string head = "xdpctl " + std::string(verb) + ": " + f + ":";
			if (r.line) {
				std::string where = head + std::to_string(r.line) + ":" + std::to_string(r.column) + ": ";
				EXPECT_TRUE(res.err.starts_with(where + r.says)) << "want " << where << r.says << "\ngot  " << res.err;
			} else {
				EXPECT_TRUE(std::regex_match(res.err, std::regex(std::regex_replace(head, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
										 R"(\d+:\d+: .+\n)")))
					<< "FILE:LINE:COLUMN: " << res.err;
			}
			auto js = xdpctl(std::string(verb) + " -j -f " + f);
			EXPECT_EQ(js.rc, 2);
			EXPECT_EQ(js.err, res.err) << "the same line with -j";
			expect_json_error(js.out, 2, r.says);
		}
		EXPECT_EQ(tree(fs_->mount_point()), fresh) << "nothing created, ROOT neither";
	}
	auto none = xdpctl("apply -f " + dir_.path() + "/no-such.yaml");
	EXPECT_EQ(none.rc, 2);
	EXPECT_EQ(none.err, "xdpctl apply: open " + dir_.path() + "/no-such.yaml: No such file or directory\n");
}

// A pattern matches whole names (a[01]: a0 and a1, not a0p), an interface named takes its own
// entry over a pattern listed before it, the first matching pattern wins, a pattern may match
// nothing, and it is evaluated at every run: a new interface that matches is a new step.
TEST_F(CliApply, PatternsMatchOnlyWhatTheyShould)
{
	std::string f = file("globs.yaml", R"(interfaces:
  - match: "a[01]"
    program: xdp_pass
  - match: "a?"
    program: xdp_redirect_hash
    counters: false
  - name: a2
    program: xdp_redirect
  - match: "zz*"
    program: xdp_pass
)");
	const std::string steps = "+ interface a0: xdp_pass (native, counters on)\n"
				  "+ interface a1: xdp_pass (native, counters on)\n"
				  "+ interface a2: xdp_redirect (native, counters on)\n";
	auto d = xdpctl("diff -f " + f);
	EXPECT_EQ(d.rc, 1);
	EXPECT_EQ(d.out, steps);
	auto a = xdpctl("apply -f " + f);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, steps);
	json st = status();
	EXPECT_EQ(iface(st, "a0")->at("prog"), "xdp_pass_prog");
	EXPECT_EQ(iface(st, "a1")->at("prog"), "xdp_pass_prog");
	EXPECT_EQ(iface(st, "a2")->at("prog"), "xdp_redirect_devmap") << "named: its own entry, not a?'s";
	for (const char *n : {"a0p", "a1p", "a2p", "lo"})
		EXPECT_EQ(iface(st, n)->at("prog_id"), 0) << n << " matched by no pattern";

	ASSERT_GT(add_veth("a3", "a3p").ifindex, 0);
	auto d3 = xdpctl("diff -f " + f);
	EXPECT_EQ(d3.rc, 1);
	EXPECT_EQ(d3.out, "+ interface a3: xdp_redirect_hash (native, counters off)\n") << "a? now matches a3";
}

// Multicast groups and the MAC table from the file: a port leaving one group for another and a MAC
// moved to another group are one step each, and land in mcast_group1/2 and mcast_macs.
TEST_F(CliApply, MulticastGroupsAndMacs)
{
	std::string one = file("mc1.yaml", R"(interfaces:
  - name: a0
    program: xdp_multicast
multicast:
  groups:
    - group: 1
      ports: [a1, a2]
  macs:
    - mac: "01:00:5e:00:00:0a"
      group: 1
)");
	auto a = xdpctl("apply -f " + one);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, "+ interface a0: xdp_multicast (native, counters on)\n"
			 "+ multicast 1 port a1: no egress program\n"
			 "+ multicast 1 port a2: no egress program\n"
			 "+ mac 01:00:5e:00:00:0a: group 1\n");
	const std::string a1 = std::to_string(ifindex_of("a1")) + " a1 ", a2 = std::to_string(ifindex_of("a2")) + " a2 ";
	json st = shape(status());
	EXPECT_EQ(st.at("multicast_macs"), json::array({{{"mac", "01:00:5e:00:00:0a"}, {"group", 1}}}));
	std::vector<std::string> both = {a1, a2};
	std::sort(both.begin(), both.end());
	EXPECT_EQ(st.at("devmaps").at("mcast_group1").at("entries"), json(both));

	std::string two = file("mc2.yaml", R"(interfaces:
  - name: a0
    program: xdp_multicast
multicast:
  groups:
    - group: 1
      ports: [a1]
    - group: 2
      ports: [a2]
  macs:
    - mac: "01:00:5e:00:00:0a"
      group: 2
)");
	const std::string steps = "- multicast 1 port a2: no egress program\n"
				  "+ multicast 2 port a2: no egress program\n"
				  "~ mac 01:00:5e:00:00:0a: group 1 => group 2\n";
	auto d = xdpctl("diff -f " + two);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, steps);
	auto b = xdpctl("apply -f " + two);
	ASSERT_EQ(b.rc, 0) << b.err;
	EXPECT_EQ(b.out, steps);
	st = shape(status());
	EXPECT_EQ(st.at("multicast_macs"), json::array({{{"mac", "01:00:5e:00:00:0a"}, {"group", 2}}}));
	EXPECT_EQ(st.at("devmaps").at("mcast_group1").at("entries"), json::array({a1}));
	EXPECT_EQ(st.at("devmaps").at("mcast_group2").at("entries"), json::array({a2}));
	EXPECT_EQ(xdpctl("apply -f " + two).out, "no changes\n");
}

// Real frames: a rule apply wrote (a0 -> a1) carries every frame sent into a0 out of a1, to
// a1's peer, byte for byte.
TEST_F(CliApply, FramesTakeARuleApplyWrote)
{
	auto a = xdpctl("apply -f " + file("ns.yaml", kBase));
	ASSERT_EQ(a.rc, 0) << a.err;
	Capture at_a1p("a1p", kEthTest);
	Bytes f = Packet().eth(kMacB, mac_of("a0p")).payload(46, 0x5a).build();
	const int kN = 5;
	ASSERT_EQ(send_frames("a0p", f, kN), kN) << "frames sent into a0";
	auto got = at_a1p.drain(500ms);
	EXPECT_EQ(got.size(), static_cast<size_t>(kN)) << "every frame left through a1";
	for (const auto &g : got)
		EXPECT_EQ(g, f) << "unchanged: " << hex(g);
}

// A changed program is swapped on its link (bpf_link_update): frames flowing into a0 while files
// alternate its program (xdp_pass, and xdp_redirect with no rule, which passes a miss) all
// arrive, every apply says its swap, and a0 keeps its link throughout.
TEST_F(CliApply, ASwapUnderTrafficLosesNoFrame)
{
	const std::string pass = file("pass.yaml", "interfaces:\n  - name: a0\n    program: xdp_pass\n");
	const std::string redirect = file("redirect.yaml", "interfaces:\n  - name: a0\n    program: xdp_redirect\n");
	ASSERT_EQ(xdpctl("apply -f " + pass).rc, 0);
	const json before = status(); // named: iface() points into it
	const json *a0 = iface(before, "a0");
	ASSERT_TRUE(a0);
	const json link = a0->at("link_id");
	const std::string says[2] = {
	    "~ interface a0: xdp_pass (native, counters on) => xdp_redirect (native, counters on)\n",
	    "~ interface a0: xdp_redirect (native, counters on) => xdp_pass (native, counters on)\n"};

	const Bytes f = Packet().eth(mac_of("a0"), mac_of("a0p")).payload(46, 0x3c).build();
	WireCapture cap("a0");
	std::atomic<bool> sending{true};
	std::atomic<int> swaps{0}, failed{0};
	std::string first_failure; // written by the swapper only, read after join()
	std::thread swapper([&] {
		for (int k = 0; sending; k++) {
			auto r = xdpctl("apply -f " + (k % 2 ? pass : redirect));
			if (r.rc == 0 && r.out == says[k % 2]) {
				swaps++;
				continue;
			}
			failed++;
			if (first_failure.empty())
				first_failure = "rc " + std::to_string(r.rc) + ", out " + r.out + ", err " + r.err;
			k--; // the same file again: the next apply converges to it
		}
	});
	const int kFrames = in_lane() ? 1000 : 3000, kBurst = 32;
	size_t got = 0;
	int sent = 0;
	auto same = [&](const Bytes &b) { return b == f; };
	// at least three swaps inside the stream, however fast or slow the machine is
	for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
	     (sent < kFrames || swaps < 3) && std::chrono::steady_clock::now() < until; sent += kBurst) {
		ASSERT_EQ(send_frames("a0p", f, kBurst), kBurst);
		got += cap.drain(kBurst, 1000ms, same).size();
	}
	sending = false;
	swapper.join();
	got += cap.drain(0, 200ms, same).size();
	EXPECT_GE(swaps.load(), 3) << "the program was swapped while frames flowed";
	EXPECT_EQ(failed.load(), 0) << "every apply swapped; the first that did not: " << first_failure;
	EXPECT_EQ(got, static_cast<size_t>(sent)) << "every frame arrived";
	const json after = status();
	a0 = iface(after, "a0");
	ASSERT_TRUE(a0);
	EXPECT_EQ(a0->at("link_id"), link) << "the same link after every swap";
	EXPECT_EQ(a0->at("owned"), true);
}

// A changed mode is a reattach (unload, load). When the interface is the only one with a program,
// its unload takes the namespace's maps, so the rule is removed before it and added after it, as
// steps of their own: an apply that fails after the reattach is undone whole (the interface back
// in native mode, its rule back in tx_port), and one that succeeds leaves the rule in place.
TEST_F(CliApply, AReattachOfTheOnlyInterfaceRewritesItsRuleAndIsUndoneWhole)
{
	const std::string one_yaml = "interfaces:\n  - name: a0\n    program: xdp_redirect\nredirect:\n  - in: a0\n    out: a1\n";
	std::string one = file("one.yaml", one_yaml);
	auto a = xdpctl("apply -f " + one);
	ASSERT_EQ(a.rc, 0) << a.err;
	ASSERT_EQ(a.out, "+ interface a0: xdp_redirect (native, counters on)\n+ redirect a0: -> a1\n");
	const json before = shape(status());
	const std::string rule = std::to_string(ifindex_of("a0")) + " a1 ";
	ASSERT_EQ(before.at("devmaps").at("tx_port").at("entries"), json::array({rule})) << before.dump();

	const std::string skb_yaml = "interfaces:\n  - name: a0\n    program: xdp_redirect\n    mode: skb\n"
				     "redirect:\n  - in: a0\n    out: a1\n";
	const std::string reattach = "- redirect a0: -> a1\n"
				     "~ interface a0: xdp_redirect (native, counters on) => xdp_redirect (skb, counters on) "
				     "(reattached: the mode or device binding changed)\n"
				     "+ redirect a0: -> a1\n";
	std::string bad = file("bad.yaml", skb_yaml + "  - in: a1\n    out: a0\n    egress:\n      program: " + kObjDir +
						   "/verr_egress.bpf.o\n");
	auto d = xdpctl("diff -f " + bad);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, reattach + "+ redirect a1: -> a0 egress " + kObjDir + "/verr_egress.bpf.o\n");
	auto r = xdpctl("apply -f " + bad);
	EXPECT_EQ(r.rc, 1) << r.out;
	EXPECT_EQ(lines(r.err), 1u) << r.err;
	EXPECT_TRUE(r.out.empty()) << r.out;
	EXPECT_EQ(shape(status()), before) << "a0 native again and its rule back, though the reattach emptied the maps";
	EXPECT_EQ(xdpctl("diff -f " + one).out, "no changes\n") << "the record is the first file again";

	std::string skb = file("skb.yaml", skb_yaml);
	auto s = xdpctl("apply -f " + skb);
	ASSERT_EQ(s.rc, 0) << s.err;
	EXPECT_EQ(s.out, reattach);
	json st = status();
	EXPECT_EQ(iface(st, "a0")->at("mode"), "skb");
	EXPECT_EQ(shape(st).at("devmaps").at("tx_port").at("entries"), json::array({rule})) << "the rule is in the new maps";
	EXPECT_EQ(shape(st).at("devmaps").at("tx_port_hash").at("entries"), json::array({rule}));
	EXPECT_EQ(xdpctl("apply -f " + skb).out, "no changes\n");
}

// Two interfaces reattached: each unload leaves the other loaded, so the maps stay (the same
// tx_port) and a rule that changes is one step that replaces it, not an add that finds it taken.
TEST_F(CliApply, TwoReattachesKeepTheMaps)
{
	ASSERT_EQ(xdpctl("apply -f " + file("base.yaml", kBase)).rc, 0);
	auto map_id = [](const json &st) {
		for (const auto &d : st.at("devmaps"))
			if (d.at("name") == "tx_port")
				return d.at("id").get<uint32_t>();
		return 0u;
	};
	const uint32_t tx_port = map_id(status());
	ASSERT_NE(tx_port, 0u);

	std::string f = file("skb.yaml", R"(interfaces:
  - name: a0
    program: xdp_redirect
    mode: skb
  - name: a1
    program: xdp_redirect
    mode: skb
redirect:
  - in: a0
    out: a2
)");
	const std::string steps = "~ interface a0: xdp_redirect (native, counters on) => xdp_redirect (skb, counters on) "
				  "(reattached: the mode or device binding changed)\n"
				  "~ interface a1: xdp_redirect (native, counters on) => xdp_redirect (skb, counters on) "
				  "(reattached: the mode or device binding changed)\n"
				  "~ redirect a0: -> a1 => -> a2\n";
	auto d = xdpctl("diff -f " + f);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, steps);
	auto a = xdpctl("apply -f " + f);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, steps);
	json st = status();
	EXPECT_EQ(iface(st, "a0")->at("mode"), "skb");
	EXPECT_EQ(iface(st, "a1")->at("mode"), "skb");
	EXPECT_EQ(map_id(st), tx_port) << "the maps stayed";
	EXPECT_EQ(shape(st).at("devmaps").at("tx_port").at("entries"),
		  json::array({std::to_string(ifindex_of("a0")) + " a2 "}));
	EXPECT_EQ(xdpctl("apply -f " + f).out, "no changes\n");
}

// A monitor an interrupted stop left half pinned is not a running one: under monitor: true apply
// starts a whole one in its place, under monitor: false it removes what is left.
TEST_F(CliApply, AHalfPinnedMonitorIsFinished)
{
	auto l = xdpctl::current_layout();
	ASSERT_TRUE(l) << l.error().message();
	const std::string exc = l->monitor_dir() + "/xdpctl_mon_exc";
	std::string on = file("on.yaml", "monitor: true\n");
	ASSERT_EQ(xdpctl("apply -f " + on).out, "+ monitor\n");
	ASSERT_EQ(xdpctl("monitor show").rc, 0);

	ASSERT_EQ(::unlink(exc.c_str()), 0) << "a stop killed after its first unlink";
	auto d = xdpctl("diff -f " + on);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, "+ monitor\n");
	auto a = xdpctl("apply -f " + on);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, "+ monitor\n");
	EXPECT_EQ(xdpctl("monitor show").rc, 0) << "a whole monitor again";
	EXPECT_TRUE(xdpctl::path_exists(exc));
	EXPECT_EQ(xdpctl("apply -f " + on).out, "no changes\n");

	ASSERT_EQ(::unlink(exc.c_str()), 0);
	std::string off = file("off.yaml", "monitor: false\n");
	auto r = xdpctl("apply -f " + off);
	ASSERT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "- monitor\n");
	EXPECT_FALSE(xdpctl::path_exists(l->monitor_dir())) << "what was left is removed";
	EXPECT_EQ(xdpctl("diff -f " + off).out, "no changes\n");
}

// Rules, ports and MACs live in the maps a loaded program pins: a file that loads none here is
// refused before anything changes. A file whose last step fails on a namespace where xdpctl had
// nothing leaves nothing in the bpffs, not even ROOT.
TEST_F(CliApply, NothingIsLeftWhenAFileCannotBeMade)
{
	const auto fresh = tree(fs_->mount_point());
	std::string f = file("noprog.yaml", R"(interfaces:
  - match: "zz*"
    program: xdp_redirect
redirect:
  - in: a0
    out: a1
)");
	const std::string says = f + ":5:9: redirect rules, group ports and MACs live in the maps of a program loaded in this "
				     "namespace, and this file loads none on its interfaces here (Invalid argument)\n";
	auto a = xdpctl("apply -f " + f);
	EXPECT_EQ(a.rc, 1);
	EXPECT_EQ(a.err, "xdpctl apply: " + says);
	EXPECT_TRUE(a.out.empty()) << a.out;
	auto d = xdpctl("diff -f " + f);
	EXPECT_EQ(d.rc, 2);
	EXPECT_EQ(d.err, "xdpctl diff: " + says);
	EXPECT_EQ(tree(fs_->mount_point()), fresh) << "nothing created";

	std::string bad = file("bad.yaml", std::string("interfaces:\n  - name: a0\n    program: xdp_redirect\n"
						       "redirect:\n  - in: a0\n    out: a1\n    egress:\n      program: ") +
						   kObjDir + "/verr_egress.bpf.o\n");
	auto r = xdpctl("apply -f " + bad);
	EXPECT_EQ(r.rc, 1) << r.out;
	EXPECT_EQ(lines(r.err), 1u) << r.err;
	EXPECT_TRUE(r.out.empty()) << r.out;
	json st = status();
	ASSERT_NE(iface(st, "a0"), nullptr);
	EXPECT_EQ(iface(st, "a0")->at("prog_id"), 0) << "a0 unloaded again";
	EXPECT_EQ(tree(fs_->mount_point()), fresh) << "no pin, no directory, ROOT neither";
}

// A record rebuilt by repair --reset-state has lost the names of the programs: the interface's
// and the rule's egress program are "<a program xdpctl cannot name>", not none, so diff lists both
// and apply swaps them for the file's; export leaves both out, saying so.
TEST_F(CliApply, ProgramsARebuiltRecordCannotNameAreReplaced)
{
	std::string f = file("egress.yaml", R"(interfaces:
  - name: a0
    program: xdp_redirect
redirect:
  - in: a0
    out: a1
    egress:
      program: xdp_egress
)");
	ASSERT_EQ(xdpctl("apply -f " + f).rc, 0);
	auto reset = xdpctl("repair --reset-state");
	ASSERT_EQ(reset.rc, 0) << reset.err;

	const std::string steps = "~ interface a0: <a program xdpctl cannot name> (native, counters on) => xdp_redirect (native, counters on)\n"
				  "~ redirect a0: -> a1 egress <a program xdpctl cannot name> => -> a1 egress xdp_egress\n";
	auto d = xdpctl("diff -f " + f);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, steps);
	auto e = xdpctl("export");
	ASSERT_EQ(e.rc, 0) << e.err;
	EXPECT_NE(e.out.find("# left out: a0 runs a program xdpctl loaded but cannot name (reload it with xdpctl load)\n"),
		  std::string::npos) << e.out;
	EXPECT_NE(e.out.find("# left out: redirect a0 -> a1 runs an egress program xdpctl cannot name (add it again with "
			     "its egress program)\n"),
		  std::string::npos) << e.out;
	auto ej = json::parse(xdpctl("export -j").out, nullptr, false);
	ASSERT_TRUE(ej.is_object());
	EXPECT_TRUE(ej.at("interfaces").empty()) << ej.dump();
	EXPECT_TRUE(ej.at("redirect").empty()) << ej.dump();

	auto a = xdpctl("apply -f " + f);
	ASSERT_EQ(a.rc, 0) << a.err;
	EXPECT_EQ(a.out, steps);
	EXPECT_EQ(xdpctl("apply -f " + f).out, "no changes\n");
	EXPECT_EQ(shape(status()).at("devmaps").at("tx_port").at("entries"),
		  json::array({std::to_string(ifindex_of("a0")) + " a1 xdp_egress"}));
}

// config schema is a draft 2020-12 JSON Schema with the keys the parser knows, closed to others;
// --help lists the new verbs.
TEST_F(CliApply, SchemaHasTheKeysTheParserKnows)
{
	auto s = xdpctl("config schema");
	ASSERT_EQ(s.rc, 0) << s.err;
	auto j = json::parse(s.out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << s.out;
	EXPECT_EQ(j.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
	EXPECT_EQ(j.at("additionalProperties"), false);
	EXPECT_EQ(keys_of(j.at("properties")),
		  (std::vector<std::string>{"broadcast", "interfaces", "monitor", "multicast", "redirect", "version"}));
	const json &item = j.at("properties").at("interfaces").at("items");
	EXPECT_EQ(item.at("additionalProperties"), false);
	EXPECT_EQ(keys_of(item.at("properties")),
		  (std::vector<std::string>{"counters", "dev_bound", "match", "mode", "name", "prog", "program"}));
	EXPECT_EQ(item.at("properties").at("mode").at("enum"), json::array({"native", "skb"}));
	EXPECT_EQ(j.at("$defs").at("egress").at("required"), json::array({"program"}));
	EXPECT_EQ(j.at("$defs").at("group").at("maximum"), 3);

	auto help = xdpctl("--help");
	auto verbs = subcommands_in(help.out);
	for (const char *v : {"apply", "diff", "export", "config"})
		EXPECT_NE(std::find(verbs.begin(), verbs.end(), v), verbs.end()) << v << " in --help";
}

// The commented example of the tree parses and resolves: diff lists what applying it would do.
TEST_F(CliApply, TheExampleFileParses)
{
	const std::string example = std::string(XDPCTL_SOURCE_DIR) + "/examples/xdpctl.yaml";
	if (!std::filesystem::exists(example))
		GTEST_SKIP() << example << " is not on this machine (the kernel lane has the binaries only)";
	for (int k = 0; k <= 4; k++)
		ASSERT_GT(add_veth("veth" + std::to_string(k), "p" + std::to_string(k)).ifindex, 0);
	auto d = xdpctl("diff -f " + example);
	EXPECT_EQ(d.rc, 1) << d.err;
	EXPECT_EQ(d.out, "+ interface veth0: xdp_redirect (native, counters on)\n"
			 "+ interface veth1: xdp_redirect (native, counters on)\n"
			 "+ interface veth2: xdp_broadcast (native, counters on)\n"
			 "+ interface veth3: xdp_broadcast (native, counters on)\n"
			 "+ interface veth4: xdp_broadcast (native, counters on)\n"
			 "+ redirect veth0: -> veth1 egress xdp_egress with src_mac\n"
			 "+ redirect veth1: -> veth0\n"
			 "+ broadcast port veth2: no egress program\n"
			 "+ broadcast port veth3: no egress program\n"
			 "+ broadcast port veth4: egress xdp_egress\n"
			 "+ monitor\n");
}
