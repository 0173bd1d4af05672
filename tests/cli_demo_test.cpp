// xdpctl demo as a user runs it: it must pass on real traffic and leave nothing behind (no
// namespace, no pin, no XDP program, no new interface), also when interrupted half way.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bpffs_dir.hpp"
#include "netns.hpp"
#include "spawn.hpp"

using namespace xt;
using nlohmann::json;

namespace {
const std::string kBin = XDPCTL_BIN;

bool netns_exists(const std::string &name)
{
	struct stat st {};
	return stat(("/run/netns/" + name).c_str(), &st) == 0;
}

// The test namespace's links with their XDP state: must read the same before and after.
std::string links()
{
	std::string out;
	sh("ip -o -d link show", &out);
	return out;
}
} // namespace

class CliDemo : public NetnsTest {
protected:
	void SetUp() override
	{
		NetnsTest::SetUp();
		fs_ = std::make_unique<BpffsDir>();
		ASSERT_TRUE(fs_->ok()) << "private bpffs";
		before_ = links();
	}
	void TearDown() override
	{
		EXPECT_EQ(links(), before_) << "no interface added, changed or left with XDP";
		EXPECT_TRUE(tree(fs_->root()).empty()) << "nothing pinned";
		fs_.reset();
		NetnsTest::TearDown();
	}
	std::string env() const { return "XDPCTL_BPFFS=" + fs_->root(); }
	std::unique_ptr<BpffsDir> fs_;
	std::string before_;
};

TEST_F(CliDemo, JsonReportsTheTrafficAndEverythingIsRemoved)
{
	auto r = run_cmd(ns().exec() + kBin + " demo -j --unicast 60 --broadcast 30", env());
	ASSERT_EQ(r.rc, 0) << r.err << r.out;
	auto j = json::parse(r.out, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << r.out;
	EXPECT_EQ(j.at("ok"), true);
	EXPECT_EQ(j.at("torn_down"), true);
	ASSERT_EQ(j.at("receivers").size(), 3u) << j.dump(2);
	struct Want {
		const char *rx, *mac;
		int unicast;
	};
	const Want want[] = {{"rx-a", "02:58:44:50:0a:00", 60}, {"rx-b", "02:58:44:50:0b:00", 0}, {"rx-c", "02:58:44:50:0c:00", 0}};
	for (size_t i = 0; i < 3; i++) {
		const auto &x = j["receivers"][i];
		SCOPED_TRACE(want[i].rx);
		EXPECT_EQ(x.at("ifname"), want[i].rx);
		EXPECT_EQ(x.at("unicast").at("seen"), want[i].unicast) << "redirected only to rx-a";
		EXPECT_EQ(x.at("broadcast").at("seen"), 30) << "one copy of each broadcast";
		EXPECT_EQ(x.at("src_macs_seen"), json::array({want[i].mac})) << "xdp_egress wrote the egress port's MAC";
	}
	EXPECT_EQ(j["receivers"][0].at("udp_delivered"), 60) << "the UDP socket got every datagram";
	std::map<std::string, json> ctr;
	for (const auto &c : j.at("counters"))
		ctr[c.at("ifname")] = c.at("actions");
	EXPECT_EQ(ctr["in0"]["REDIRECT"]["packets"], 60) << "xdp_redirect on in0";
	EXPECT_EQ(ctr["bc0"]["REDIRECT"]["packets"], 30) << "xdp_broadcast on bc0";
	EXPECT_EQ(ctr["rx-b"]["PASS"]["packets"], 30) << "xdp_pass on rx-b saw the broadcasts";
	for (const auto &ns : j.at("namespaces"))
		EXPECT_FALSE(netns_exists(ns.get<std::string>())) << ns << " removed";
	struct stat st {};
	EXPECT_NE(stat(fs_->root().c_str(), &st), 0) << "the bpffs root the demo made is gone too";
}

TEST_F(CliDemo, TextShowsStepsAndTheResult)
{
	auto r = run_cmd(ns().exec() + kBin + " demo", env());
	ASSERT_EQ(r.rc, 0) << r.err << r.out;
	for (const char *s : {"ok    create namespaces", "ok    load xdp_redirect on in0", "What arrived where",
			      "Per-action counters", "demo passed", "ok    tear down"})
		EXPECT_NE(r.out.find(s), std::string::npos) << "shows " << s << ":\n" << r.out;
	EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(CliDemo, SigintHalfWayTearsDownAndFails)
{
	Spawned p(ns().exec() + kBin + " demo", env());
	std::vector<std::string> seen;
	// interrupt once the programs are loaded: the worst moment to leave things behind
	for (auto l = p.line(); l; l = p.line()) {
		seen.push_back(*l);
		if (l->find("load xdp_redirect") != std::string::npos)
			break;
	}
	ASSERT_FALSE(seen.empty() || seen.back().find("load xdp_redirect") == std::string::npos) << "programs loaded";
	p.signal(SIGINT);
	std::string rest, err;
	EXPECT_EQ(p.finish(&rest, &err), 1) << "interrupted: not a pass\n" << rest;
	EXPECT_NE(err.find("interrupted"), std::string::npos) << "says so: " << err;
	EXPECT_NE(rest.find("ok    tear down"), std::string::npos) << "tore down: " << rest;
	// the first step names the namespaces: "ok    create namespaces NAME-gen and NAME-sw"
	auto first = std::find_if(seen.begin(), seen.end(),
				  [](const std::string &l) { return l.find("create namespaces") != std::string::npos; });
	ASSERT_NE(first, seen.end()) << "namespaces step shown";
	size_t at = first->find("xdpctl-demo-");
	ASSERT_NE(at, std::string::npos) << *first;
	std::string gen = first->substr(at, first->find(' ', at) - at);
	std::string sw = gen.substr(0, gen.size() - 3) + "sw";
	EXPECT_FALSE(netns_exists(gen)) << gen << " removed";
	EXPECT_FALSE(netns_exists(sw)) << sw << " removed";
}

// A demo killed by SIGKILL cannot tear down; the next one removes what it left (its namespaces
// carry a pid that no longer runs), programs and pins included.
TEST_F(CliDemo, LeftoversOfAKilledDemoAreRemovedFirst)
{
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	ASSERT_GT(dead, 0);
	waitpid(dead, nullptr, 0);
	std::string gen = "xdpctl-demo-" + std::to_string(dead) + "-gen", sw = "xdpctl-demo-" + std::to_string(dead) + "-sw";
	struct Cleanup {
		std::string gen, sw;
		~Cleanup() { sh("ip netns del " + gen + " 2>/dev/null; ip netns del " + sw + " 2>/dev/null"); }
	} cleanup{gen, sw};
	ASSERT_TRUE(must("ip netns add " + gen));
	ASSERT_TRUE(must("ip netns add " + sw));
	ASSERT_TRUE(must("ip -n " + sw + " link add k0 type veth peer name k1 && ip -n " + sw + " link set k0 up && ip -n " +
			 sw + " link set k1 up"));
	auto l = run_cmd("ip netns exec " + sw + " " + kBin + " load xdp_pass k0", env());
	ASSERT_EQ(l.rc, 0) << "a program and pins the killed demo left: " << l.err;
	ASSERT_FALSE(tree(fs_->root()).empty()) << "pinned";

	auto r = run_cmd(ns().exec() + kBin + " demo --unicast 10 --broadcast 10", env());
	EXPECT_EQ(r.rc, 0) << r.err << r.out;
	EXPECT_NE(r.out.find("ok    remove what a killed demo left: " + gen), std::string::npos) << r.out;
	EXPECT_FALSE(netns_exists(gen)) << gen;
	EXPECT_FALSE(netns_exists(sw)) << sw;
}
