// bench_smoke (ctest): the benchmark suite still runs. xdpctl_bench --smoke runs every benchmark
// with tiny repeats and sizes; this checks that results.json names every figure, each with
// positive samples for ours and its baseline and a positive ratio. No timing is asserted: the
// smoke measures nothing, it keeps `make bench` from rotting.
//
// The host sections (kFigures) are smoked on the host. The device-bound section (kDevbound,
// `--only devbound`) is smoked where device-bound teardown may run: in the kernel lane's guest
// (kmod/run-lane.sh runs bench_smoke there, with XDPCTL_DEVBOUND_LIVE=1), where the host
// sections are skipped in turn; on the host only its refusal is checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"
#include "kernel.hpp"

namespace {

// Every figure `make bench` reports: {group, name}.
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
	{"controlplane", "load+attach, 1 interface"},
	{"controlplane", "load+attach, many veths"},
	{"controlplane", "DEVMAP_HASH fill"},
	{"controlplane", "XDP_STATS dump"},
	{"controlplane", "ctl stats peak RSS"},
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
};

// The device-bound section's figures (tests/bench/devbound.cpp).
const std::pair<const char *, const char *> kDevbound[] = {
	{"devbound", "device-bound meta, xdp_frames"},
	{"devbound", "device-bound meta, skbs"},
};

bool in_lane()
{
	const char *l = getenv("XDPCTL_LANE");
	return l && *l;
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

	// Runs xdpctl_bench --smoke with `args` and checks that results.json and table.md hold
	// exactly `figures`, each complete.
	void smoke(const std::string &args, std::span<const std::pair<const char *, const char *>> figures);

	std::string dir_;
};

void BenchSmoke::smoke(const std::string &args, std::span<const std::pair<const char *, const char *>> figures)
{
	// the runner's private mount namespace is what `make bench` uses too (tests/bench/run.sh)
	auto r = xt::run_cmd("unshare --mount --propagation private " XDPCTL_BENCH " --smoke --out " + dir_ + args);
	ASSERT_EQ(r.rc, 0) << "xdpctl_bench --smoke" << args << "\n" << r.out << r.err;

	std::ifstream in(dir_ + "/results.json");
	ASSERT_TRUE(in) << "results.json written";
	auto j = nlohmann::json::parse(in, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << "results.json parses";
	EXPECT_GT(j["machine"]["nproc"].get<int>(), 0) << "machine.nproc";
	EXPECT_FALSE(j["machine"]["cpu"].get<std::string>().empty()) << "machine.cpu";
	EXPECT_FALSE(j["machine"]["kernel"].get<std::string>().empty()) << "machine.kernel";
	EXPECT_TRUE(j["smoke"].get<bool>()) << "marked as a smoke run";

	std::set<std::string> seen;
	for (const auto &f : j["figures"])
		seen.insert(f["group"].get<std::string>() + "/" + f["name"].get<std::string>());
	for (const auto &[group, name] : figures) {
		std::string id = std::string(group) + "/" + name;
		SCOPED_TRACE(id);
		ASSERT_TRUE(seen.count(id)) << "figure present";
		for (const auto &f : j["figures"]) {
			if (f["group"] != group || f["name"] != name)
				continue;
			EXPECT_EQ(f["rounds"].get<int>(), j["rounds"][group].get<int>()) << "one sample per round";
			for (const char *side : {"ours", "baseline"}) {
				EXPECT_FALSE(f[side]["what"].get<std::string>().empty()) << side << " says what it is";
				EXPECT_GT(f[side]["median"].get<double>(), 0) << side << " median";
				EXPECT_GT(f[side]["min"].get<double>(), 0) << side << " min";
				EXPECT_GE(f[side]["max"].get<double>(), f[side]["median"].get<double>()) << side << " max";
			}
			EXPECT_GT(f["ratio"]["median"].get<double>(), 0) << "ratio";
		}
	}
	EXPECT_EQ(seen.size(), figures.size()) << "no figure the table does not know";

	std::ifstream md(dir_ + "/table.md");
	std::string table((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
	for (const auto &[group, name] : figures)
		EXPECT_NE(table.find(std::string("| ") + name + " |"), std::string::npos) << "table row " << name;
}

TEST_F(BenchSmoke, EveryFigureIsThereAndPositive)
{
	if (in_lane())
		GTEST_SKIP() << "the host sections are smoked on the host (ctest); in the lane's guest bench_smoke "
				"smokes the device-bound section";
	smoke("", kFigures);
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
	smoke(" --only devbound", kDevbound);
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
		if (in_lane()) {
			EXPECT_NE(f["how"].get<std::string>().find("qemu TCG"), std::string::npos) << "says it ran under TCG";
		}
	}
}

} // namespace
