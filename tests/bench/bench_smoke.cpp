// bench_smoke (ctest): the benchmark suite still runs. xdpctl_bench --smoke runs every benchmark
// with tiny repeats and sizes; this checks that results.json names every figure, each with
// positive samples for ours and its baseline and a positive ratio. No timing is asserted: the
// smoke measures nothing, it keeps `make bench` from rotting.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"

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
	{"dataplane", "redirect + egress prog, vs same lookups"},
	{"dataplane", "broadcast 4 DEVMAP"},
	{"dataplane", "broadcast 4 DEVMAP_HASH"},
	{"dataplane", "metadata producer"},
	{"dataplane", "metadata producer, vs same lookup"},
	{"controlplane", "load+attach, 1 interface"},
	{"controlplane", "load+attach, many veths"},
	{"controlplane", "DEVMAP_HASH fill"},
	{"controlplane", "XDP_STATS dump"},
	{"controlplane", "ctl stats peak RSS"},
	{"controlplane", "xdpctl stats peak RSS"},
	{"pipeline", "pipeline processed, 1 gen thread(s)"},
	{"pipeline", "pipeline delivered, 1 gen thread(s)"},
	{"pipeline", "pipeline processed, 2 gen thread(s)"},
	{"pipeline", "pipeline delivered, 2 gen thread(s)"},
	{"pipeline", "atomic replace under traffic"},
};

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
	std::string dir_;
};

TEST_F(BenchSmoke, EveryFigureIsThereAndPositive)
{
	// the runner's private mount namespace is what `make bench` uses too (tests/bench/run.sh)
	auto r = xt::run_cmd("unshare --mount --propagation private " XDPCTL_BENCH " --smoke --out " + dir_);
	ASSERT_EQ(r.rc, 0) << "xdpctl_bench --smoke\n" << r.out << r.err;

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
	for (const auto &[group, name] : kFigures) {
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
	EXPECT_EQ(seen.size(), std::size(kFigures)) << "no figure the table does not know";

	std::ifstream md(dir_ + "/table.md");
	std::string table((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
	for (const auto &[group, name] : kFigures)
		EXPECT_NE(table.find(std::string("| ") + name + " |"), std::string::npos) << "table row " << name;
}

} // namespace
