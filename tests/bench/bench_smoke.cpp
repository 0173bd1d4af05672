// bench_smoke (ctest, one ctest test per gtest test): the benchmark suite still runs.
// xdpctl_bench --smoke runs the benchmarks with tiny repeats and sizes, one section per test
// (--only SECTION); each test checks that the section's results.json holds exactly the figures
// of kFigures for that section (none missing, none unknown, none twice), each with one sample
// per round for ours and its baseline, positive, and a positive ratio. A problem names its
// figure. No timing is asserted: the smoke measures nothing, it keeps `make bench` from rotting.
//
// The host sections are smoked on the host. The device-bound section (`--only devbound`) is
// smoked where device-bound teardown may run: in the kernel lane's guest (kmod/run-lane.sh runs
// bench_smoke there, with XDPCTL_DEVBOUND_LIVE=1), where the host sections skip in turn; on the
// host only its refusal is checked. Every skip is a GTEST_SKIP with its reason, counted by
// ctest and by the lane.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"
#include "kernel.hpp"

namespace {

using Figures = std::vector<std::pair<std::string, std::string>>;

// Every figure `make bench` reports: {group (the section), name}.
const std::pair<const char *, const char *> kFigures[] = {
	{"dataplane", "drop"},
	{"dataplane", "pass"},
	{"dataplane", "drop, live frames"},
	{"dataplane", "pass, live frames"},
	{"dataplane", "tx"},
	{"dataplane", "redirect DEVMAP"},
	{"dataplane", "redirect DEVMAP_HASH"},
	{"dataplane", "redirect + egress prog"},
	{"dataplane", "redirect + egress prog, --egress-mac"},
	{"dataplane", "redirect + egress prog, vs one counter"},
	{"dataplane", "broadcast 4 DEVMAP"},
	{"dataplane", "broadcast 4 DEVMAP_HASH"},
	{"dataplane", "broadcast 4 DEVMAP_HASH, vs 32 slots (xdp-bench)"},
	{"dataplane", "broadcast 16 DEVMAP"},
	{"dataplane", "broadcast 16 DEVMAP_HASH"},
	{"dataplane", "broadcast 64 DEVMAP"},
	{"dataplane", "broadcast 64 DEVMAP_HASH"},
	{"dataplane", "broadcast 256 DEVMAP"},
	{"dataplane", "broadcast 256 DEVMAP_HASH"},
	{"dataplane", "metadata producer"},
	{"dataplane", "metadata producer, vs same lookup"},
	{"dataplane", "drop, counters off"},
	{"dataplane", "pass, counters off"},
	{"dataplane", "tx, counters off"},
	{"dataplane", "redirect DEVMAP, counters off"},
	{"dataplane", "redirect DEVMAP_HASH, counters off"},
	{"dataplane", "redirect + egress prog, counters off"},
	{"dataplane", "metadata producer, counters off"},
	{"controlplane", "load+attach, 1 interface"},
	{"controlplane", "load+attach, 1 interface, vs one shared load"},
	{"controlplane", "load+attach, 1 interface, CLI"},
	{"controlplane", "load+attach, 64 interfaces"},
	{"controlplane", "load+attach, 64 interfaces, vs one shared load"},
	{"controlplane", "DEVMAP_HASH fill"},
	{"controlplane", "XDP_STATS dump"},
	{"controlplane", "ctl stats peak RSS"},
	{"controlplane", "load+attach, 1,000 interfaces"},
	{"controlplane", "load+attach, 1,000 interfaces, vs one shared load"},
	{"controlplane", "xdpctl stats peak RSS"},
	{"pipeline", "pipeline drop processed, 1 gen thread(s)"},
	{"pipeline", "pipeline drop processed, 2 gen thread(s)"},
	{"pipeline", "pipeline pass processed, 1 gen thread(s)"},
	{"pipeline", "pipeline pass processed, 2 gen thread(s)"},
	{"pipeline", "pipeline tx processed, 1 gen thread(s)"},
	{"pipeline", "pipeline tx delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline tx processed, 2 gen thread(s)"},
	{"pipeline", "pipeline tx delivered, 2 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP processed, 1 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP processed, 2 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP delivered, 2 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP_HASH processed, 1 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP_HASH delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP_HASH processed, 2 gen thread(s)"},
	{"pipeline", "pipeline redirect DEVMAP_HASH delivered, 2 gen thread(s)"},
	{"pipeline", "pipeline redirect + egress prog processed, 1 gen thread(s)"},
	{"pipeline", "pipeline redirect + egress prog delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline redirect + egress prog processed, 2 gen thread(s)"},
	{"pipeline", "pipeline redirect + egress prog delivered, 2 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP processed, 1 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP processed, 2 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP delivered, 2 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP_HASH processed, 1 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP_HASH delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP_HASH processed, 2 gen thread(s)"},
	{"pipeline", "pipeline broadcast 4 DEVMAP_HASH delivered, 2 gen thread(s)"},
	{"pipeline", "pipeline metadata producer processed, 1 gen thread(s)"},
	{"pipeline", "pipeline metadata producer processed, 2 gen thread(s)"},
	{"pipeline", "atomic replace under traffic"},
	// the peer section (tests/bench/peer.cpp), measured when XDP_BENCH names xdp-bench
	{"peer", "vs xdp-bench: pass processed, 1 gen thread(s)"},
	{"peer", "vs xdp-bench: pass processed, 2 gen thread(s)"},
	{"peer", "vs xdp-bench: redirect processed, 1 gen thread(s)"},
	{"peer", "vs xdp-bench: redirect delivered, 1 gen thread(s)"},
	{"peer", "vs xdp-bench: redirect processed, 2 gen thread(s)"},
	{"peer", "vs xdp-bench: redirect delivered, 2 gen thread(s)"},
	{"peer", "vs xdp-bench: broadcast 4 ports processed, 1 gen thread(s)"},
	{"peer", "vs xdp-bench: broadcast 4 ports delivered, 1 gen thread(s)"},
	{"peer", "vs xdp-bench: broadcast 4 ports processed, 2 gen thread(s)"},
	{"peer", "vs xdp-bench: broadcast 4 ports delivered, 2 gen thread(s)"},
	// the device-bound section (tests/bench/devbound.cpp)
	{"devbound", "device-bound meta, xdp_frames"},
	{"devbound", "device-bound meta, skbs"},
};

// The figures of one section.
Figures figures_of(const std::string &group)
{
	Figures out;
	for (const auto &[g, n] : kFigures)
		if (g == group)
			out.emplace_back(g, n);
	return out;
}

double num(const nlohmann::json &j, const char *key)
{
	return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : -1;
}

// What is wrong with results.json's figures against `want` (one section's), each problem naming
// its figure: missing, unknown, listed twice, samples not one per round, a non-positive sample
// spread or ratio, an unnamed side.
std::vector<std::string> figure_problems(const nlohmann::json &results, const Figures &want)
{
	std::vector<std::string> p;
	std::map<std::string, int> seen;
	const auto &figs = results.contains("figures") ? results["figures"] : nlohmann::json::array();
	for (const auto &f : figs) {
		std::string group = f.value("group", ""), id = group + "/" + f.value("name", "");
		if (++seen[id] > 1)
			p.push_back(id + ": listed twice");
		if (std::find(want.begin(), want.end(), std::pair{group, f.value("name", "")}) == want.end()) {
			p.push_back(id + ": unknown figure (not in bench_smoke's kFigures)");
			continue;
		}
		double rounds = num(results.value("rounds", nlohmann::json::object()), group.c_str());
		if (rounds <= 0)
			p.push_back(id + ": results.json gives no rounds for " + group);
		if (num(f, "rounds") != rounds)
			p.push_back(id + ": " + f.value("rounds", nlohmann::json()).dump() + " rounds, not " +
				    std::to_string(static_cast<int>(rounds)));
		for (const char *side : {"ours", "baseline"}) {
			const auto &s = f.value(side, nlohmann::json::object());
			std::string at = id + ": " + side;
			if (s.value("what", "").empty())
				p.push_back(at + " does not say what it is");
			auto samples = s.value("samples", nlohmann::json::array());
			if (samples.size() != static_cast<size_t>(rounds))
				p.push_back(at + " has " + std::to_string(samples.size()) + " samples, not one per round");
			for (const auto &x : samples)
				if (!x.is_number() || x.get<double>() <= 0)
					p.push_back(at + " has a sample that is not positive: " + x.dump());
			if (num(s, "median") <= 0 || num(s, "min") <= 0)
				p.push_back(at + " median/min not positive: " + s.dump());
			if (num(s, "max") < num(s, "median"))
				p.push_back(at + " max below its median: " + s.dump());
		}
		if (num(f.value("ratio", nlohmann::json::object()), "median") <= 0)
			p.push_back(id + ": ratio not positive: " + f.value("ratio", nlohmann::json()).dump());
	}
	for (const auto &[g, n] : want)
		if (!seen.count(g + "/" + n))
			p.push_back(g + "/" + n + ": missing");
	return p;
}

std::string joined(const std::vector<std::string> &v)
{
	std::string s;
	for (const auto &x : v)
		s += "\n  " + x;
	return s;
}

class BenchSmoke : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/xdpctl-bench-smoke-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr) << "temp dir";
		dir_ = tmpl;
	}
	void TearDown() override
	{
		for (const char *f : {"results.json", "chart.dat", "table.md"})
			std::remove((dir_ + "/" + f).c_str());
		rmdir(dir_.c_str());
	}

	// Runs xdpctl_bench --smoke --only `section` and checks that results.json and table.md hold
	// exactly that section's figures, each complete.
	void smoke(const std::string &section);

	std::string dir_;
};

void BenchSmoke::smoke(const std::string &section)
{
	const Figures want = figures_of(section);
	ASSERT_FALSE(want.empty()) << "kFigures lists section " << section;
	// the runner's private mount namespace is what `make bench` uses too (tests/bench/run.sh)
	auto r = xt::run_cmd("unshare --mount --propagation private " XDPCTL_BENCH " --smoke --only " + section +
			     " --out " + dir_);
	ASSERT_EQ(r.rc, 0) << "xdpctl_bench --smoke --only " << section << "\n" << r.out << r.err;

	std::ifstream in(dir_ + "/results.json");
	ASSERT_TRUE(in) << "results.json written";
	auto j = nlohmann::json::parse(in, nullptr, false);
	ASSERT_TRUE(j.is_object()) << "results.json parses";
	EXPECT_GT(num(j["machine"], "nproc"), 0) << "machine.nproc";
	EXPECT_FALSE(j["machine"].value("cpu", "").empty()) << "machine.cpu";
	EXPECT_FALSE(j["machine"].value("kernel", "").empty()) << "machine.kernel";
	EXPECT_TRUE(j.value("smoke", false)) << "marked as a smoke run";

	auto problems = figure_problems(j, want);
	EXPECT_TRUE(problems.empty()) << problems.size() << " problem(s) with section " << section << "'s figures:"
				      << joined(problems);

	std::ifstream md(dir_ + "/table.md");
	std::string table((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
	for (const auto &[group, name] : want)
		EXPECT_NE(table.find("| " + name + " |"), std::string::npos) << "table.md row for " << group << "/" << name;
}

// The host sections: smoked here, skipped in the lane's guest (which smokes devbound).
#define HOST_SECTION(section)                                                                                  \
	do {                                                                                                   \
		if (xt::in_lane())                                                                             \
			GTEST_SKIP() << "the host sections are smoked on the host (ctest); in the lane's guest " \
					"bench_smoke smokes the device-bound section";                          \
		smoke(section);                                                                                \
	} while (0)

TEST_F(BenchSmoke, DataplaneFiguresAreThereAndPositive)
{
	HOST_SECTION("dataplane");
}

TEST_F(BenchSmoke, ControlplaneFiguresAreThereAndPositive)
{
	HOST_SECTION("controlplane");
}

TEST_F(BenchSmoke, PipelineFiguresAreThereAndPositive)
{
	HOST_SECTION("pipeline");
}

// Without XDP_BENCH the peer section measures nothing and says so in the table; with it, its
// figures are smoked like the others.
TEST_F(BenchSmoke, PeerFiguresAreThereOrTheTableSaysWhyNot)
{
	if (xt::in_lane())
		GTEST_SKIP() << "the host sections are smoked on the host (ctest)";
	const char *xb = getenv("XDP_BENCH");
	if (xb && *xb) {
		smoke("peer");
		return;
	}
	auto r = xt::run_cmd("unshare --mount --propagation private " XDPCTL_BENCH " --smoke --only peer --out " + dir_);
	ASSERT_EQ(r.rc, 0) << r.out << r.err;
	std::ifstream in(dir_ + "/results.json");
	auto j = nlohmann::json::parse(in, nullptr, false);
	ASSERT_TRUE(j.is_object()) << "results.json parses";
	EXPECT_TRUE(j["figures"].empty()) << j["figures"].dump();
	std::ifstream md(dir_ + "/table.md");
	std::string table((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
	EXPECT_NE(table.find("Not measured in this run: the xdpctl against xdp-bench rows"), std::string::npos) << table;
	EXPECT_NE(table.find("XDP_BENCH does not name an xdp-bench binary"), std::string::npos) << table;
	GTEST_SKIP() << "XDP_BENCH is not set: the not-measured line is checked, the peer figures need xdp-bench "
			"(docs/bench.md)";
}

// The checker above can fail: a results.json with one figure missing, one unknown, one twice,
// one without samples and one with a zero ratio gets a problem naming each.
TEST(BenchSmokeChecker, NamesEveryMissingUnknownEmptyOrNonPositiveFigure)
{
	const Figures want = {{"g", "a"}, {"g", "b"}, {"g", "c"}, {"g", "d"}};
	auto fig = [](const char *name) {
		nlohmann::json side = {{"what", "x"}, {"samples", {1.0, 2.0}}, {"median", 1.5}, {"min", 1.0}, {"max", 2.0}};
		return nlohmann::json{{"group", "g"}, {"name", name}, {"rounds", 2},
				      {"ours", side}, {"baseline", side}, {"ratio", {{"median", 1.0}}}};
	};
	nlohmann::json good = {{"rounds", {{"g", 2}}}, {"figures", {fig("a"), fig("b"), fig("c"), fig("d")}}};
	EXPECT_TRUE(figure_problems(good, want).empty()) << "a complete results.json passes:" << joined(figure_problems(good, want));

	nlohmann::json bad = good;
	bad["figures"].erase(0); // a: missing
	bad["figures"].push_back(fig("zz")); // unknown
	bad["figures"].push_back(fig("b")); // twice
	bad["figures"][1]["ours"]["samples"] = nlohmann::json::array(); // c: no samples
	bad["figures"][2]["ratio"]["median"] = 0; // d: zero ratio
	auto p = figure_problems(bad, want);
	for (const char *says : {"g/a: missing", "g/zz: unknown figure", "g/b: listed twice", "g/c: ours has 0 samples",
				 "g/d: ratio not positive"}) {
		EXPECT_TRUE(std::any_of(p.begin(), p.end(), [&](const std::string &x) { return x.find(says) == 0; }))
			<< "a problem saying " << says << ":" << joined(p);
	}
	EXPECT_EQ(p.size(), 5u) << "nothing else:" << joined(p);
}

// Device-bound programs are bound to a veth that is then removed: refused unless asked for.
TEST_F(BenchSmoke, DevboundRefusedWithoutOptIn)
{
	auto r = xt::run_cmd("env -u XDPCTL_DEVBOUND_LIVE " XDPCTL_BENCH " --smoke --only devbound --out " + dir_);
	EXPECT_EQ(r.rc, 1) << r.out << r.err;
	EXPECT_NE(r.err.find("XDPCTL_DEVBOUND_LIVE=1"), std::string::npos) << "says how to opt in: " << r.err;
	EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
	EXPECT_FALSE(std::ifstream(dir_ + "/results.json")) << "nothing measured, nothing written";
}

// Bad arguments: one line that says what is wrong, exit code 2, nothing measured or written.
TEST_F(BenchSmoke, BadArgumentsAreRefusedInOneLine)
{
	struct Row {
		const char *what, *args, *says;
	};
	const Row rows[] = {
		{"no --out", "--smoke", "--out DIR is required"},
		{"unknown section", "--smoke --only nosuchsection --out DIR", "unknown section nosuchsection"},
		{"unknown argument", "--smoke --fast --out DIR", "unknown argument --fast"},
		{"--out without a value", "--out", "--out needs a value"},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		std::string args = r.args;
		if (auto p = args.find("DIR"); p != std::string::npos)
			args.replace(p, 3, dir_);
		auto res = xt::run_cmd(XDPCTL_BENCH " " + args);
		EXPECT_EQ(res.rc, 2) << res.err;
		EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_FALSE(std::ifstream(dir_ + "/results.json")) << "nothing written";
	}
}

TEST_F(BenchSmoke, DevboundFigureIsThereAndComplete)
{
	XT_REQUIRE_KERNEL(6, 3, "device-bound programs (BPF_F_XDP_DEV_BOUND_ONLY)");
	XT_REQUIRE_DEVBOUND_LIVE();
	smoke("devbound");
	if (HasFatalFailure())
		return;
	std::ifstream in(dir_ + "/results.json");
	auto j = nlohmann::json::parse(in, nullptr, false);
	for (const auto &f : j["figures"]) {
		SCOPED_TRACE(f["name"].get<std::string>());
		const auto &x = f["extra"];
		// our program's counters saw every frame d0 processed under it (the runner fails
		// otherwise; this checks that the proof is in the results)
		EXPECT_GT(x["ours_frames_processed"].get<uint64_t>(), 0u) << "frames processed under ours";
		EXPECT_EQ(x["ours_counted_pass"], x["ours_frames_processed"]) << "xdpctl_stats XDP_PASS";
		EXPECT_EQ(x["ours_meta_written"], x["ours_frames_processed"]) << "meta_counters WRITTEN";
		for (const char *k : {"rx_hash", "rx_timestamp", "rx_vlan_tag"}) {
			const auto &c = x["kfuncs"][k];
			EXPECT_EQ(c["ok"].get<uint64_t>() + c["refused"].get<uint64_t>() + c["nodata"].get<uint64_t>() +
					  c["other"].get<uint64_t>(),
				  x["ours_frames_processed"].get<uint64_t>())
				<< "kfunc_counters[" << k << "]";
		}
		for (const char *mode : {"plain", "live_frames"})
			EXPECT_TRUE(x["prog_test_run"][mode].contains("answer")) << "BPF_PROG_TEST_RUN " << mode << " recorded";
		if (xt::in_lane()) {
			EXPECT_NE(f["how"].get<std::string>().find("qemu TCG"), std::string::npos) << "says it ran under TCG";
		}
	}
}

} // namespace
