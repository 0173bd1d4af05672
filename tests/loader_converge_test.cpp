// The convergent control plane (issue 14), through the real xdpctl binary in a namespace of its
// own with a private bpffs: the four scenarios of the issue as regression tests (ifindex reuse
// with real frames, a killed --replace, a killed load/broadcast/unload, an interface moved to
// another namespace), the adversarial review's findings (a renamed interface, a namespace inode
// reused, stats after a killed --replace, the mode a --replace keeps, a moved interface seen and
// unloaded from its new namespace), crash trials (a SIGKILL at every step boundary through the test hook
// XDPCTL_TEST_KILL_AT_STEP, and at random moments), and xdpctl processes racing (load, replace,
// unload, rules, the monitor, apply).
//
// After every kill: no lock held, `status` agrees with `ip link`, the same command run again
// exits 0 and leaves exactly the intended state (programs, pins, both flavours of every devmap),
// and at the end no program or map of xdpctl's outlives the test.
//
// Knobs: XDPCTL_CRASH_RANDOM (random-moment kills, default 30), XDPCTL_CRASH_ONLY (only the
// crash cases whose name contains it), XDPCTL_RACE_ROUNDS (rounds per racing process, default 30),
// XDPCTL_RACE_PROCS (racing processes, 2-4, default 3). `make converge-soak` turns them up.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bpf/bpf.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "bpffs_dir.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "spawn.hpp"
#include "temp_dir.hpp"
#include "traffic.hpp"
#include "xdpctl_fixture.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/state.hpp"

using namespace xt;

namespace {

const std::string kBin = XDPCTL_BIN;

int knob(const char *name, int dflt)
{
	const char *v = std::getenv(name);
	return v && *v ? std::atoi(v) : dflt;
}

// The programs and maps these tests make xdpctl load, by the names the kernel keeps (15
// characters). Counted by id above the test's start, so another test of the same programs
// running on the host at that moment would be counted too: the count waits for them to go.
const std::set<std::string> kOurProgs = {"xdp_pass_prog",   "xdp_redirect_de", "xdp_broadcast_d", "xdp_multicast",
					 "xdp_mon_excepti", "xdp_mon_redirec", "xdp_mon_devmap_"};
const std::set<std::string> kOurMaps = {"xdpctl_stats", "tx_port", "tx_port_hash", "bcast_ports", "bcast_ports_has",
					"bcast_group", "bcast_group_has", "mcast_macs", "mcast_groups", "mcast_group0",
					"mcast_group1", "mcast_group2", "mcast_group3", "xdpctl_state",
					"xdpctl_mon_exc", "xdpctl_mon_rerr", "xdpctl_mon_xmit"};

// Programs and maps of ours with an id above `after` (ids only grow): what this test made.
std::pair<int, int> our_objects(uint32_t after_prog, uint32_t after_map)
{
	int progs = 0, maps = 0;
	for (uint32_t id = after_prog; bpf_prog_get_next_id(id, &id) == 0;) {
		int fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		bpf_prog_info i{};
		uint32_t len = sizeof(i);
		if (bpf_obj_get_info_by_fd(fd, &i, &len) == 0 && kOurProgs.contains(i.name))
			progs++;
		close(fd);
	}
	for (uint32_t id = after_map; bpf_map_get_next_id(id, &id) == 0;) {
		int fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		bpf_map_info i{};
		uint32_t len = sizeof(i);
		if (bpf_obj_get_info_by_fd(fd, &i, &len) == 0 && kOurMaps.contains(i.name))
			maps++;
		close(fd);
	}
	return {progs, maps};
}

// our_objects() once they had time to go: programs and maps are freed after an RCU grace period.
std::pair<int, int> no_objects_left(uint32_t after_prog, uint32_t after_map)
{
	std::pair<int, int> left;
	for (int i = 0; i < 100; i++) { // up to 10 s
		left = our_objects(after_prog, after_map);
		if (left == std::pair<int, int>{0, 0})
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	return left;
}

uint32_t last_id(int (*next)(uint32_t, uint32_t *))
{
	uint32_t id = 0, last = 0;
	while (next(id, &id) == 0)
		last = id;
	return last;
}

// Runs xdpctl in the calling thread's namespace (run_direct: fork + exec, no shell: the pid is
// xdpctl's, and a trial costs one process, not three), without the test's own XDPCTL_* variables;
// kill_after_us >= 0: SIGKILLed after that long unless it ended. rc is the exit code, or -9 when
// it was killed (by us or by the step hook).
CmdResult run_xdpctl(const std::string &root, const std::vector<std::string> &args, int kill_at_step = 0,
		     int kill_after_us = -1)
{
	DirectRun o;
	o.env = {"XDPCTL_BPFFS=" + root};
	if (kill_at_step)
		o.env.push_back("XDPCTL_TEST_KILL_AT_STEP=" + std::to_string(kill_at_step));
	o.drop_xdpctl_env = true;
	o.kill_after_us = kill_after_us;
	std::vector<std::string> argv{kBin};
	argv.insert(argv.end(), args.begin(), args.end());
	return run_direct(argv, o);
}

// Pairs A0<->B0 ... A<n-1><->B<n-1>, for add_veths (one `ip -b` for all of them).
std::vector<std::pair<std::string, std::string>> veth_pairs(const std::string &a, const std::string &b, int n)
{
	std::vector<std::pair<std::string, std::string>> out;
	for (int i = 0; i < n; i++)
		out.emplace_back(a + std::to_string(i), b + std::to_string(i));
	return out;
}

class LoaderConverge : public XdpctlNetnsTest {
protected:
	// xdpctl ARGS in the test's namespace, run directly (see run_xdpctl)
	CmdResult x(const std::string &args) { return run_xdpctl(fs_->root(), split_args(args)); }

	std::string ns_dir() const
	{
		auto l = xdpctl::current_layout();
		return fs_->root() + "/ns" + std::to_string(l->netns);
	}

	// The XDP program id `ip link` shows on each interface (0: none), one `ip -j link` for all.
	std::map<std::string, uint32_t> ip_link_progs()
	{
		std::map<std::string, uint32_t> out;
		std::string text;
		if (sh(ns().exec() + "ip -j link show", &text))
			return out;
		for (const auto &l : nlohmann::json::parse(text)) {
			uint32_t id = 0;
			if (l.contains("xdp")) {
				const auto &x = l["xdp"];
				if (x.contains("prog"))
					id = x["prog"]["id"].get<uint32_t>();
				else if (x.contains("attached"))
					for (const auto &a : x["attached"])
						if (a.contains("prog"))
							id = a["prog"]["id"].get<uint32_t>();
			}
			out[l.at("ifname").get<std::string>()] = id;
		}
		return out;
	}
	uint32_t ip_link_prog(const std::string &ifname) { return ip_link_progs()[ifname]; }

	// The lock is free (a command that died holds nothing).
	void expect_unlocked()
	{
		int fd = open(fs_->root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return; // no root, no lock
		EXPECT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0) << "RootLock free after the kill";
		close(fd);
	}

	// `status` says about every interface what `ip link` says.
	void expect_status_true()
	{
		auto s = x("status -j");
		ASSERT_EQ(s.rc, 0) << s.err;
		auto j = nlohmann::json::parse(s.out);
		auto ip = ip_link_progs();
		for (const auto &i : j.at("interfaces")) {
			std::string n = i.at("ifname");
			EXPECT_EQ(i.at("prog_id").get<uint32_t>(), ip[n]) << n << ": status agrees with ip link";
		}
	}

	// The devmaps as key -> egress ifindex (bcast_ports: its member ifindexes, keyed by themselves).
	std::map<std::string, std::map<uint32_t, uint32_t>> devmaps()
	{
		std::map<std::string, std::map<uint32_t, uint32_t>> out;
		auto s = x("status -j");
		EXPECT_EQ(s.rc, 0) << s.err;
		if (s.rc)
			return out;
		auto j = nlohmann::json::parse(s.out); // kept: a range-for over a temporary's member dangles
		for (const auto &d : j.at("devmaps")) {
			auto &m = out[d.at("name").get<std::string>()];
			bool slot = d.at("key").get<std::string>() == "slot";
			for (const auto &e : d.at("entries"))
				m[slot ? e.at("ifindex").get<uint32_t>() : e.at("key").get<uint32_t>()] = e.at("ifindex").get<uint32_t>();
		}
		return out;
	}

	void expect_no_staged_pins()
	{
		for (const auto &p : tree(fs_->root()))
			EXPECT_EQ(p.find("-new"), std::string::npos) << "staged pin left: " << p;
	}

	// The desired state recorded for namespace inode ns (0: the test's own), as xdpctl reads it.
	std::optional<xdpctl::DesiredState> record(uint64_t ns = 0)
	{
		xdpctl::Layout l{fs_->root(), ns ? ns : xdpctl::current_layout()->netns};
		auto r = xdpctl::read_state(l);
		EXPECT_TRUE(r) << r.error().message();
		return r ? *r : std::nullopt;
	}

	// How many of 5 test frames sent out of `from` arrive at `at` within 300 ms.
	size_t arrive(const std::string &from, const std::string &at, uint8_t fill)
	{
		Mac dst{0x02, 0, 0, 0, 0x77, 0x01}, src{0x02, 0, 0, 0, 0x77, 0x02};
		auto frame = Packet().eth(dst, src, 0x88b5).payload(46, fill).build();
		Capture cap(at, 0x88b5);
		if (send_frames(from, frame, 5) != 5) {
			ADD_FAILURE() << "5 frames sent out of " << from;
			return 0;
		}
		return cap.drain(std::chrono::milliseconds(300), [&](const Bytes &f) { return f == frame; }).size();
	}

	// xdp_pass loaded on l0 and k0 (veths to l1, k1), then l0 moved to `other` with its link.
	void load_and_move_l0(const NetNs &other)
	{
		add_veth("l0", "l1");
		add_veth("k0", "k1");
		ASSERT_EQ(x("load xdp_pass l0 k0").rc, 0);
		auto st = status_of("l0");
		ASSERT_TRUE(st.is_object());
		moved_prog_ = st.at("prog_id");
		moved_link_ = st.at("link_id");
		ASSERT_NE(moved_prog_, 0u);
		ASSERT_TRUE(must(ns().exec() + "ip link set l0 netns " + other.name()));
	}
	uint32_t moved_prog_ = 0, moved_link_ = 0; // l0's program and link, by load_and_move_l0

	// `status -j`'s object of interface ifname (null when it has none).
	nlohmann::json status_of(const std::string &ifname)
	{
		auto s = x("status -j");
		EXPECT_EQ(s.rc, 0) << s.err;
		if (s.rc)
			return nullptr;
		auto j = nlohmann::json::parse(s.out);
		for (const auto &i : j.at("interfaces"))
			if (i.at("ifname") == ifname)
				return i;
		return nullptr;
	}

	// The inode of a named namespace (0 when it cannot be read).
	static uint64_t inode_of(const NetNs &n)
	{
		struct stat st {};
		return ::stat(("/run/netns/" + n.name()).c_str(), &st) ? 0 : static_cast<uint64_t>(st.st_ino);
	}
	CmdResult in(const NetNs &n, const std::string &args) { return run_cmd(n.exec() + kBin + " " + args, env()); }

	// A namespace deleted with xdpctl's programs (v0, v1), two redirect rules and a monitor in it,
	// unloaded by nobody; then a new namespace that got its inode, with w0 <-> w1 up in it (fresh
	// stays null when none did: other processes took the inode meanwhile).
	struct DeadNamespace {
		uint64_t ino = 0, cookie = 0;
		uint32_t tx_port = 0;      // the id of its tx_port
		std::unique_ptr<NetNs> fresh;
	};
	void kill_a_namespace_and_reuse_its_inode(DeadNamespace &d)
	{
		{
			NetNs dead;
			d.ino = inode_of(dead);
			ASSERT_NE(d.ino, 0u);
			ASSERT_TRUE(must(dead.exec() + "ip link add v0 type veth peer name v1"));
			ASSERT_TRUE(must(dead.exec() + "ip link set v0 up"));
			ASSERT_TRUE(must(dead.exec() + "ip link set v1 up"));
			ASSERT_EQ(in(dead, "load xdp_redirect v0 v1").rc, 0);
			ASSERT_EQ(in(dead, "redirect add v0 v1").rc, 0);
			ASSERT_EQ(in(dead, "redirect add v1 v0").rc, 0);
			auto mon = in(dead, "monitor start");
			ASSERT_EQ(mon.rc, 0) << mon.err;
			auto st = in(dead, "status -j");
			ASSERT_EQ(st.rc, 0) << st.err;
			const auto sj = nlohmann::json::parse(st.out); // named: a range over a temporary's member dangles
			for (const auto &m : sj.at("devmaps"))
				if (m.at("name").get<std::string>() == "tx_port")
					d.tx_port = m.at("id").get<uint32_t>();
			ASSERT_NE(d.tx_port, 0u) << st.out;
			auto rec = record(d.ino);
			ASSERT_TRUE(rec);
			d.cookie = rec->netns.cookie;
		} // deleted with everything in it, unloaded by nobody
		const std::string dir = fs_->root() + "/ns" + std::to_string(d.ino);
		ASSERT_TRUE(xdpctl::path_exists(dir + "/monitor")) << "the dead namespace left its pins";

		// the inode is free once the kernel destroyed the namespace (asynchronously): the next one
		// gets it (the lowest free one: namespaces that get a lower one meanwhile are held until then)
		std::vector<std::unique_ptr<NetNs>> held;
		for (int i = 0; i < 100 && !d.fresh; i++) {
			auto n = std::make_unique<NetNs>();
			uint64_t got = inode_of(*n);
			if (got == d.ino) {
				d.fresh = std::move(n);
			} else if (got < d.ino) {
				held.push_back(std::move(n));
			} else { // not freed yet
				n.reset();
				std::this_thread::sleep_for(std::chrono::milliseconds(100));
			}
		}
		if (!d.fresh)
			return;
		ASSERT_TRUE(must(d.fresh->exec() + "ip link add w0 type veth peer name w1"));
		ASSERT_TRUE(must(d.fresh->exec() + "ip link set w0 up"));
		ASSERT_TRUE(must(d.fresh->exec() + "ip link set w1 up"));
	}
	// The line a namespace's first command prints when it removed what d's dead namespace left.
	std::string leftover_line(const DeadNamespace &d)
	{
		d.fresh->enter();
		auto now = xdpctl::current_netns();
		d.fresh->leave();
		EXPECT_TRUE(now) << "the new namespace's cookie";
		return "xdpctl: removed what a deleted network namespace (netns cookie " + std::to_string(d.cookie) +
		       ") left under the inode this one reuses (" + std::to_string(d.ino) + ", cookie " +
		       std::to_string(now ? now->cookie : 0) +
		       "): 2 links of its removed interfaces, its shared maps and their rules and its monitor\n";
	}

};

// Scenario 1: a rule keyed by a removed device's ifindex goes with it; a new device that gets the
// ifindex inherits nothing: frames from q1 (into q0) do not come out behind p1.
TEST_F(LoaderConverge, ReusedIfindexInheritsNoRule)
{
	auto p1 = add_veth("p1", "p1x");
	auto p2 = add_veth("p2", "p2x");
	ASSERT_TRUE(must(ns().exec() + "ethtool -K p1x gro on")) << "p1 a ready redirect target";
	ASSERT_EQ(xdpctl("load xdp_redirect p1 p2").rc, 0);
	ASSERT_EQ(xdpctl("redirect add p1 p2").rc, 0);
	auto add = xdpctl("redirect add p2 p1");
	ASSERT_EQ(add.rc, 0) << add.err;

	ASSERT_EQ(arrive("p2x", "p1x", 5), 5u) << "control: p2 -> p1 forwards (so the next check can fail)";

	ASSERT_TRUE(must(ns().exec() + "ip link del p2"));
	ASSERT_TRUE(must(ns().exec() + "ip link add q0 index " + std::to_string(p2.ifindex) + " type veth peer name q1"));
	ASSERT_TRUE(must(ns().exec() + "ip link set q0 up"));
	ASSERT_TRUE(must(ns().exec() + "ip link set q1 up"));
	auto load = xdpctl("load xdp_redirect q0");
	ASSERT_EQ(load.rc, 0) << load.err;

	EXPECT_EQ(arrive("q1", "p1x", 5), 0u) << "q0 inherited p2's rule: frames from q1 arrived behind p1";
	auto maps = devmaps();
	for (const char *m : {"tx_port", "tx_port_hash"}) {
		EXPECT_FALSE(maps[m].contains(static_cast<uint32_t>(p2.ifindex))) << m << ": the entry keyed by p2's ifindex went with p2";
		EXPECT_TRUE(maps[m].empty()) << m << ": p1 -> p2 went with p2 too";
	}
	auto del = xdpctl("redirect del q0");
	EXPECT_EQ(del.rc, 0) << "no rule for q0: nothing to do, said so: " << del.err;
	EXPECT_NE(del.out.find("nothing to remove"), std::string::npos) << del.out;
	EXPECT_FALSE(xdpctl::path_exists(ns_dir() + "/if" + std::to_string(p2.ifindex) + "/xdpctl_stats-new"));
	(void)p1;
}

// A command whose effect is in place succeeds and says so; a conflicting one names --replace.
TEST_F(LoaderConverge, InPlaceSucceedsConflictNamesReplace)
{
	add_veth("a0", "a1");
	add_veth("b0", "b1");
	ASSERT_EQ(xdpctl("load xdp_redirect a0").rc, 0);
	auto again = xdpctl("load xdp_redirect a0");
	EXPECT_EQ(again.rc, 0) << again.err;
	EXPECT_NE(again.out.find("already loaded"), std::string::npos) << again.out;
	auto other = xdpctl("load xdp_pass a0");
	EXPECT_EQ(other.rc, 1);
	EXPECT_NE(other.err.find("--replace"), std::string::npos) << other.err;
	auto mode = xdpctl("load -m skb xdp_redirect a0");
	EXPECT_EQ(mode.rc, 1) << "other options are another intent";
	EXPECT_NE(mode.err.find("--replace"), std::string::npos) << mode.err;

	ASSERT_EQ(xdpctl("redirect add a0 b0").rc, 0);
	auto rule = xdpctl("redirect add a0 b0");
	EXPECT_EQ(rule.rc, 0) << rule.err;
	EXPECT_NE(rule.out.find("already in tx_port"), std::string::npos) << rule.out;
	auto conflict = xdpctl("redirect add a0 a0");
	EXPECT_EQ(conflict.rc, 1);
	EXPECT_NE(conflict.err.find("--replace"), std::string::npos) << conflict.err;

	ASSERT_EQ(xdpctl("unload a0").rc, 0);
	auto un = xdpctl("unload a0");
	EXPECT_EQ(un.rc, 0) << un.err;
	EXPECT_NE(un.out.find("nothing to unload"), std::string::npos) << un.out;
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "nothing left";
}

// Scenario 4: an interface moved to another namespace keeps its program; the old namespace's
// unload --all leaves it attached and says it moved; the new namespace unloads it.
TEST_F(LoaderConverge, MovedInterfaceIsLeftAloneAndUnloadedFromItsNewNamespace)
{
	NetNs other;
	ASSERT_NO_FATAL_FAILURE(load_and_move_l0(other));
	const uint32_t prog = moved_prog_;
	auto in_other = [&](const std::string &args) { return run_cmd(other.exec() + kBin + " " + args, env()); };
	auto other_prog = [&] {
		std::string out;
		sh(other.exec() + "ip -j link show dev l0", &out);
		auto j = nlohmann::json::parse(out);
		return j[0].contains("xdp") ? j[0]["xdp"]["prog"]["id"].get<uint32_t>() : 0u;
	};
	ASSERT_EQ(other_prog(), prog) << "the link went with the device";

	auto st = xdpctl("status -j");
	ASSERT_EQ(st.rc, 0) << st.err;
	auto sj = nlohmann::json::parse(st.out);
	ASSERT_EQ(sj.at("moved").size(), 1u) << "status reports the moved link: " << st.out;
	EXPECT_EQ(sj.at("moved")[0].at("prog_id").get<uint32_t>(), prog);

	auto load_there = in_other("load xdp_pass l0");
	EXPECT_EQ(load_there.rc, 1);
	EXPECT_NE(load_there.err.find("xdpctl unload l0"), std::string::npos) << "says which command works: " << load_there.err;

	auto all = xdpctl("unload --all");
	EXPECT_EQ(all.rc, 0) << all.err;
	EXPECT_NE(all.out.find("moved to another namespace"), std::string::npos) << all.out;
	EXPECT_NE(all.out.find("unloaded xdp_pass_prog from k0"), std::string::npos) << all.out;
	EXPECT_EQ(other_prog(), prog) << "unload --all here did not detach l0's program there";
	EXPECT_EQ(ip_link_prog("k0"), 0u) << "k0 unloaded";

	auto un = in_other("unload l0");
	EXPECT_EQ(un.rc, 0) << un.err;
	EXPECT_EQ(other_prog(), 0u) << "unloaded from the namespace it lives in";
	auto rep = xdpctl("repair");
	EXPECT_EQ(rep.rc, 0) << rep.err;
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "the old namespace's pins are gone";
	for (const auto &p : tree(fs_->root()))
		ADD_FAILURE() << "left behind: " << p;
}

// 14-1/14-2/14-3: a renamed interface (same ifindex, same xdpctl link) keeps its identity: the
// next command follows the rename in the record and keeps the redirect rules in both flavours
// of tx_port (frames still go through), `load` of the same program says "already loaded",
// `unload` by the new name unloads it. A rename is not a repair: `repair -j` says nothing.
TEST_F(LoaderConverge, RenamedInterfaceKeepsItsRulesAndIdentity)
{
	auto p1 = add_veth("p1", "p1p");
	auto p2 = add_veth("p2", "p2p");
	ASSERT_TRUE(must(ns().exec() + "ethtool -K p1p gro on")) << "p1 a ready redirect target";
	ASSERT_TRUE(must(ns().exec() + "ethtool -K p2p gro on")) << "p2 a ready redirect target";
	ASSERT_EQ(x("load xdp_redirect p1 p2").rc, 0);
	ASSERT_EQ(x("redirect add p1 p2").rc, 0);
	ASSERT_EQ(x("redirect add p2 p1").rc, 0);
	auto st = status_of("p1");
	ASSERT_TRUE(st.is_object());
	const uint32_t prog = st.at("prog_id"), link = st.at("link_id");
	const auto i1 = static_cast<uint32_t>(p1.ifindex), i2 = static_cast<uint32_t>(p2.ifindex);
	const std::map<uint32_t, uint32_t> rules{{i1, i2}, {i2, i1}};

	// down, renamed, up: the 6.1 kernel renames no device that is up
	ASSERT_TRUE(must(ns().exec() + "ip link set p1 down"));
	ASSERT_TRUE(must(ns().exec() + "ip link set p1 name p1x"));
	ASSERT_TRUE(must(ns().exec() + "ip link set p1x up"));

	auto rep = x("repair -j");
	EXPECT_EQ(rep.rc, 0) << rep.err;
	EXPECT_EQ(rep.out, "[]\n") << "a rename removes nothing and finishes nothing";
	auto maps = devmaps();
	EXPECT_EQ(maps["tx_port"], rules) << "p1x -> p2 and p2 -> p1x kept";
	EXPECT_EQ(maps["tx_port_hash"], rules) << "both flavours";
	auto rec = record();
	ASSERT_TRUE(rec);
	const xdpctl::IfState *r1 = rec->find_if(p1.ifindex);
	ASSERT_NE(r1, nullptr) << "p1x is still xdpctl's in the record";
	EXPECT_EQ(r1->name, "p1x") << "the record follows the rename";
	EXPECT_EQ(r1->link_id, link);
	const xdpctl::RuleState *in1 = rec->find_rule(p1.ifindex), *in2 = rec->find_rule(p2.ifindex);
	ASSERT_NE(in1, nullptr);
	ASSERT_NE(in2, nullptr);
	EXPECT_EQ(in1->in_name, "p1x");
	EXPECT_EQ(in1->out_name, "p2");
	EXPECT_EQ(in2->out_name, "p1x");

	// 14-2: the same program again is in place, by its new name
	auto load = x("load xdp_redirect p1x");
	EXPECT_EQ(load.rc, 0) << load.err;
	EXPECT_EQ(load.out, "already loaded xdp_redirect_devmap on p1x (native mode): prog id " + std::to_string(prog) +
				    ", link id " + std::to_string(link) + ", pinned at " + ns_dir() + "/if" +
				    std::to_string(p1.ifindex) + "/link\n");
	EXPECT_EQ(load.err, "");
	EXPECT_EQ(ip_link_prog("p1x"), prog) << "the same instance runs";
	EXPECT_EQ(devmaps()["tx_port"], rules) << "the load emptied nothing";

	// frames from p2's peer still leave through p1x (p2 -> p1x)
	EXPECT_EQ(arrive("p2p", "p1p", 6), 5u) << "p2 -> p1x forwards after the rename";

	// 14-3: unload by the new name unloads it (and says so); p2 keeps its program; the rules from
	// and to it go with it, named as the record follows them (issue 16)
	auto un = x("unload p1x");
	EXPECT_EQ(un.rc, 0) << un.err;
	EXPECT_EQ(un.out, "unloaded xdp_redirect_devmap from p1x\n"
			  "removed redirect p1x -> p2 (p1x was unloaded)\n"
			  "removed redirect p2 -> p1x (p1x was unloaded)\n");
	EXPECT_TRUE(devmaps()["tx_port"].empty()) << "no rule names p1x";
	EXPECT_EQ(ip_link_prog("p1x"), 0u) << "detached";
	EXPECT_NE(ip_link_prog("p2"), 0u) << "p2 untouched";
	EXPECT_FALSE(xdpctl::path_exists(ns_dir() + "/if" + std::to_string(p1.ifindex))) << "p1x's pins gone";
	auto again = x("unload p1x");
	EXPECT_EQ(again.rc, 0) << again.err;
	EXPECT_EQ(again.out, "p1x: no program of xdpctl; nothing to unload\n");

	ASSERT_EQ(x("unload --all").rc, 0);
	EXPECT_EQ(ip_link_prog("p2"), 0u);
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "nothing left";
}

// 14-1, the other side: a renamed device xdpctl cannot tell from a new one (no link of xdpctl's
// on it, no rule sending to it: here the ingress of a rule, without a program) takes its rule
// with it, and the next command says so with the reason instead of calling it a killed del.
TEST_F(LoaderConverge, RenameXdpctlCannotProveIsSaid)
{
	add_veth("p1", "p1p");
	auto p3 = add_veth("p3", "p3p");
	ASSERT_TRUE(must(ns().exec() + "ethtool -K p1p gro on")) << "p1 a ready redirect target";
	ASSERT_EQ(x("load xdp_redirect p1").rc, 0);
	ASSERT_EQ(x("redirect add p3 p1").rc, 0);
	ASSERT_TRUE(must(ns().exec() + "ip link set p3 down"));
	ASSERT_TRUE(must(ns().exec() + "ip link set p3 name p3x"));
	ASSERT_TRUE(must(ns().exec() + "ip link set p3x up"));

	auto rep = x("repair");
	EXPECT_EQ(rep.rc, 0) << rep.err;
	const std::string idx = std::to_string(p3.ifindex);
	EXPECT_EQ(rep.out, "removed the pins and rules of p3 (ifindex " + idx +
				   " is now p3x, which xdpctl cannot tell from a new device: no link of xdpctl's runs on it, "
				   "no rule sends to it)\n");
	auto maps = devmaps();
	EXPECT_TRUE(maps["tx_port"].empty()) << "the rule keyed by p3's ifindex went";
	EXPECT_TRUE(maps["tx_port_hash"].empty());
	auto rec = record();
	ASSERT_TRUE(rec);
	EXPECT_TRUE(rec->rules.empty());
	EXPECT_NE(rec->find_if(ifindex_of("p1")), nullptr) << "p1 keeps its program";
	EXPECT_EQ(x("repair -j").out, "[]\n") << "said once";
	ASSERT_EQ(x("unload --all").rc, 0);
	EXPECT_FALSE(xdpctl::path_exists(ns_dir()));
}

// 14-5: a namespace deleted with xdpctl's programs, rules and monitor in it; a new namespace that
// gets its inode (ROOT/ns<INODE> is the same directory) inherits none of it: its first command
// removes what the dead one left (its record names another netns cookie) and says so in one line,
// and its own tx_port is a new map.
TEST_F(LoaderConverge, ReusedNamespaceInodeInheritsNothing)
{
	DeadNamespace d;
	ASSERT_NO_FATAL_FAILURE(kill_a_namespace_and_reuse_its_inode(d));
	if (!d.fresh)
		GTEST_SKIP() << "no new namespace got inode " << d.ino << " (other processes took it meanwhile)";
	const uint64_t ino = d.ino, dead_cookie = d.cookie;
	const uint32_t dead_map = d.tx_port;
	const std::string dir = fs_->root() + "/ns" + std::to_string(ino);
	NetNs *fresh = d.fresh.get();

	auto load = in(*fresh, "load xdp_redirect w0");
	EXPECT_EQ(load.rc, 0) << load.err;
	auto rec = record(ino);
	ASSERT_TRUE(rec);
	EXPECT_NE(rec->netns.cookie, dead_cookie) << "the record is the new namespace's";
	EXPECT_EQ(load.err, "xdpctl: removed what a deleted network namespace (netns cookie " + std::to_string(dead_cookie) +
				    ") left under the inode this one reuses (" + std::to_string(ino) + ", cookie " +
				    std::to_string(rec->netns.cookie) +
				    "): 2 links of its removed interfaces, its shared maps and their rules and its monitor\n");
	ASSERT_EQ(rec->interfaces.size(), 1u) << "w0 only";
	EXPECT_EQ(rec->interfaces[0].name, "w0");
	EXPECT_TRUE(rec->rules.empty()) << "no rule of the dead namespace";
	EXPECT_FALSE(xdpctl::path_exists(dir + "/monitor")) << "the dead namespace's monitor is not this one's";
	auto st = in(*fresh, "status -j");
	ASSERT_EQ(st.rc, 0) << st.err;
	auto j = nlohmann::json::parse(st.out);
	EXPECT_EQ(j.at("stale_ifindexes"), nlohmann::json::array()) << st.out;
	bool seen = false;
	for (const auto &m : j.at("devmaps"))
		if (m.at("name") == "tx_port") {
			seen = true;
			EXPECT_NE(m.at("id").get<uint32_t>(), dead_map) << "a tx_port of its own";
			EXPECT_EQ(m.at("entries"), nlohmann::json::array());
		}
	EXPECT_TRUE(seen) << st.out;
	std::set<std::string> pins;
	for (const auto &p : tree(dir))
		pins.insert(p);
	const std::string w0 = "if" + std::to_string(rec->interfaces[0].ifindex);
	EXPECT_EQ(pins, (std::set<std::string>{w0, w0 + "/link", w0 + "/xdpctl_stats", "maps", "maps/tx_port",
					      "maps/tx_port_hash", "state"}))
		<< "only the new namespace's pins";
	auto rep = in(*fresh, "repair -j");
	EXPECT_EQ(rep.out, "[]\n") << "said once, done once";

	auto un = in(*fresh, "unload --all");
	EXPECT_EQ(un.rc, 0) << un.err;
	EXPECT_FALSE(xdpctl::path_exists(dir)) << "nothing left";
}

// 14-5 through the monitor, which counts by the namespace's inode: in a namespace that got a dead
// one's inode, `monitor start` as the first command removes what the dead one left (saying so) and
// starts a monitor of its own instead of finding the dead one's "already running".
TEST_F(LoaderConverge, ReusedNamespaceInodeMonitorStartsItsOwn)
{
	DeadNamespace d;
	ASSERT_NO_FATAL_FAILURE(kill_a_namespace_and_reuse_its_inode(d));
	if (!d.fresh)
		GTEST_SKIP() << "no new namespace got inode " << d.ino << " (other processes took it meanwhile)";
	const std::string dir = fs_->root() + "/ns" + std::to_string(d.ino);
	auto exc_id = [&] {
		xdpctl::Fd fd(bpf_obj_get((dir + "/monitor/xdpctl_mon_exc").c_str()));
		bpf_map_info info{};
		uint32_t len = sizeof(info);
		return fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 ? info.id : 0u;
	};
	const uint32_t dead_exc = exc_id();
	ASSERT_NE(dead_exc, 0u) << "the dead namespace's monitor is pinned";

	auto mon = in(*d.fresh, "monitor start");
	EXPECT_EQ(mon.rc, 0) << mon.err;
	EXPECT_TRUE(mon.out.starts_with("monitor started on ")) << "not the dead one's, already running: " << mon.out;
	EXPECT_EQ(mon.err, leftover_line(d));
	const uint32_t own_exc = exc_id();
	EXPECT_NE(own_exc, 0u) << "a monitor is pinned";
	EXPECT_NE(own_exc, dead_exc) << "a monitor of its own";
	EXPECT_FALSE(xdpctl::path_exists(dir + "/maps")) << "the dead namespace's maps went";
	EXPECT_FALSE(xdpctl::path_exists(dir + "/" + xdpctl::kStatePin)) << "and its record";
	auto again = in(*d.fresh, "monitor start");
	EXPECT_TRUE(again.out.starts_with("monitor already running on ")) << again.out;
	EXPECT_EQ(again.err, "") << "said once";

	auto stop = in(*d.fresh, "monitor stop");
	EXPECT_EQ(stop.rc, 0) << stop.err;
	EXPECT_EQ(stop.out, "monitor stopped\n");
	EXPECT_FALSE(xdpctl::path_exists(dir)) << "nothing left";
}

// 14-10: a `load --replace` killed after its swap and before its renames leaves the running
// program's counters pinned as xdpctl_stats-new: `stats` reads them (what `status` says runs is
// what is counted), and after the next command (which finishes the renames) the same counts.
TEST_F(LoaderConverge, KilledReplaceStatsCountWhatStatusSaysRuns)
{
	auto v = add_veth("s0", "s1");
	const std::string staged = ns_dir() + "/if" + std::to_string(v.ifindex) + "/xdpctl_stats-new";
	bool found = false;
	for (int step = 1; step < 100 && !found; step++) {
		ASSERT_EQ(x("unload --all").rc, 0);
		ASSERT_EQ(x("load xdp_pass s0").rc, 0);
		if (run_xdpctl(fs_->root(), split_args("load --replace xdp_redirect s0"), step).rc == 0)
			break; // the command ended before this step: no kill left the swap unfinished
		found = xdpctl::path_exists(staged) && xdpctl::prog_name(ip_link_prog("s0")) == "xdp_redirect_devmap";
	}
	ASSERT_TRUE(found) << "a kill between the swap and the renames";
	auto st = status_of("s0");
	ASSERT_TRUE(st.is_object());
	EXPECT_EQ(st.at("prog_id").get<uint32_t>(), ip_link_prog("s0"));
	EXPECT_EQ(st.at("prog"), "xdp_redirect_devmap") << "status: the new program runs";
	EXPECT_TRUE(st.at("owned").get<bool>());

	auto frame = Packet().eth(kMacBcast, kMacB, 0x88b5).payload(46, 7).build();
	ASSERT_EQ(send_frames("s1", frame, 7), 7);
	auto total = [](const nlohmann::json &i) {
		uint64_t n = 0;
		for (const auto &[action, c] : i.at("counters").items())
			n += c.at("packets").get<uint64_t>();
		return n;
	};
	auto summary = [&]() -> nlohmann::json {
		auto r = x("stats s0 -i 0.1 -c 1 -j");
		EXPECT_EQ(r.rc, 0) << "stats agrees with status: " << r.err;
		EXPECT_EQ(r.err, "");
		std::string last;
		std::istringstream in(r.out);
		for (std::string line; std::getline(in, line);)
			if (!line.empty())
				last = line;
		auto j = nlohmann::json::parse(last, nullptr, false);
		if (j.is_discarded() || !j.contains("interfaces") || j.at("interfaces").empty())
			return nullptr;
		return j.at("interfaces")[0];
	};
	auto s1 = summary();
	ASSERT_TRUE(s1.is_object());
	EXPECT_EQ(s1.at("ifname"), "s0");
	EXPECT_EQ(s1.at("prog"), "xdp_redirect_devmap");
	EXPECT_EQ(total(s1), 7u) << "the running program's counters: " << s1.dump();

	auto rep = x("repair -j");
	EXPECT_EQ(rep.rc, 0) << rep.err;
	EXPECT_FALSE(xdpctl::path_exists(staged)) << "renamed by the next command";
	auto s2 = summary();
	ASSERT_TRUE(s2.is_object());
	EXPECT_EQ(total(s2), 7u) << "the same map under its final name";
	ASSERT_EQ(x("unload --all").rc, 0);
	EXPECT_FALSE(xdpctl::path_exists(ns_dir()));
}

// 14-11: a link keeps its mode for life. `load --replace` without -m keeps the link's mode and
// says it; the same program with the same mode is then in place; asking another mode is refused
// with one line (unload first), --replace or not, and changes nothing.
TEST_F(LoaderConverge, ReplaceKeepsTheModeOfTheLink)
{
	auto v = add_veth("m0", "m1");
	ASSERT_EQ(x("load -m skb xdp_pass m0").rc, 0);
	auto before = status_of("m0");
	ASSERT_TRUE(before.is_object());
	ASSERT_EQ(before.at("mode"), "skb");
	const uint32_t link = before.at("link_id");
	const std::string pin = ns_dir() + "/if" + std::to_string(v.ifindex) + "/link";

	auto r = x("load --replace xdp_redirect m0");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto now = status_of("m0");
	ASSERT_TRUE(now.is_object());
	const uint32_t prog = now.at("prog_id");
	EXPECT_EQ(now.at("mode"), "skb") << "the link stays generic";
	EXPECT_EQ(now.at("link_id").get<uint32_t>(), link) << "swapped in place";
	EXPECT_EQ(r.out, "replaced by xdp_redirect on m0 (skb mode): prog id " + std::to_string(prog) + ", link id " +
				 std::to_string(link) + ", pinned at " + pin + "\n")
		<< "the mode said is the link's";
	auto rec = record();
	ASSERT_TRUE(rec);
	ASSERT_NE(rec->find_if(v.ifindex), nullptr);
	EXPECT_TRUE(rec->find_if(v.ifindex)->skb) << "recorded as it is";

	const std::string in_place = "already loaded xdp_redirect_devmap on m0 (skb mode): prog id " + std::to_string(prog) +
				     ", link id " + std::to_string(link) + ", pinned at " + pin + "\n";
	for (const char *cmd : {"load -m skb xdp_redirect m0", "load xdp_redirect m0"}) {
		auto same = x(cmd);
		EXPECT_EQ(same.rc, 0) << cmd << ": " << same.err;
		EXPECT_EQ(same.out, in_place) << cmd;
	}
	for (const char *cmd : {"load -m native --replace xdp_pass m0", "load -m native xdp_redirect m0"}) {
		auto other = x(cmd);
		EXPECT_EQ(other.rc, 1) << cmd;
		EXPECT_EQ(other.out, "") << cmd;
		EXPECT_EQ(other.err, "xdpctl load: load m0: already has XDP program xdp_redirect_devmap (id " + std::to_string(prog) +
					     ") loaded by xdpctl in skb mode; a link keeps its mode (--replace swaps the program, not "
					     "the mode): unload it first (xdpctl unload m0), then load it with -m native (File exists)\n")
			<< cmd;
		auto after = status_of("m0");
		EXPECT_EQ(after.at("prog_id").get<uint32_t>(), prog) << cmd << " changed nothing";
		EXPECT_EQ(after.at("mode"), "skb") << cmd;
	}
	ASSERT_EQ(x("unload m0").rc, 0);
	EXPECT_EQ(ip_link_prog("m0"), 0u);
	EXPECT_FALSE(xdpctl::path_exists(ns_dir()));
}

// 14-14/14-15: an interface moved to another namespace with its link: its old namespace's status
// lists it as moved (and its unload --all leaves it attached), its new namespace's status says
// the program is xdpctl's, and `unload --all` there detaches it and removes its pins.
TEST_F(LoaderConverge, MovedInterfaceIsXdpctlsInItsNewNamespace)
{
	NetNs other;
	ASSERT_NO_FATAL_FAILURE(load_and_move_l0(other));
	const uint32_t prog = moved_prog_, link = moved_link_;
	auto in_other = [&](const std::string &args) { return run_cmd(other.exec() + kBin + " " + args, env()); };
	std::string ipout;
	ASSERT_EQ(sh(other.exec() + "ip -j link show dev l0", &ipout), 0);
	const int there = nlohmann::json::parse(ipout)[0].at("ifindex");

	auto old_st = x("status -j");
	ASSERT_EQ(old_st.rc, 0) << old_st.err;
	EXPECT_EQ(nlohmann::json::parse(old_st.out).at("moved"),
		  nlohmann::json::parse("[{\"link_id\":" + std::to_string(link) + ",\"prog_id\":" + std::to_string(prog) +
					",\"prog\":\"xdp_pass_prog\",\"ifindex\":" + std::to_string(there) + "}]"))
		<< "the old namespace: moved away";
	auto new_st = in_other("status -j");
	ASSERT_EQ(new_st.rc, 0) << new_st.err;
	nlohmann::json l0;
	const auto nj = nlohmann::json::parse(new_st.out); // named: a range over a temporary's member dangles
	for (const auto &i : nj.at("interfaces"))
		if (i.at("ifname") == "l0")
			l0 = i;
	ASSERT_TRUE(l0.is_object()) << new_st.out;
	EXPECT_EQ(l0.at("prog_id").get<uint32_t>(), prog);
	EXPECT_TRUE(l0.at("owned").get<bool>()) << "the new namespace: xdpctl's program";
	EXPECT_EQ(l0.at("link_id").get<uint32_t>(), link);

	auto un = in_other("unload --all");
	EXPECT_EQ(un.rc, 0) << un.err;
	EXPECT_EQ(un.out, "unloaded xdp_pass_prog from l0 (loaded by xdpctl in the namespace it came from)\n");
	std::string after;
	sh(other.exec() + "ip -j link show dev l0", &after);
	EXPECT_FALSE(nlohmann::json::parse(after)[0].contains("xdp")) << "detached: " << after;
	EXPECT_NE(ip_link_prog("k0"), 0u) << "k0, in the old namespace, untouched";
	auto old_after = x("status -j");
	EXPECT_EQ(nlohmann::json::parse(old_after.out).at("moved"), nlohmann::json::array()) << "its pins went with it";

	auto all = x("unload --all");
	EXPECT_EQ(all.rc, 0) << all.err;
	EXPECT_EQ(all.out, "removed the pins and rules of l0 (the interface is gone)\nunloaded xdp_pass_prog from k0\n");
	EXPECT_EQ(ip_link_prog("k0"), 0u);
	for (const auto &p : tree(fs_->root()))
		ADD_FAILURE() << "left behind: " << p;
}

// Scenarios 2 and 3 and the crash trials: every command killed at every step boundary (the
// test hook) and at random moments; after each kill the namespace is checked and the same
// command run again must finish the job.
TEST_F(LoaderConverge, KilledCommandsAreFinishedByRunningThemAgain)
{
	constexpr int kIfs = 4;
	std::vector<std::string> ifs;
	add_veths(veth_pairs("c", "d", kIfs));
	for (int i = 0; i < kIfs; i++) {
		ifs.push_back("c" + std::to_string(i));
		sh(ns().exec() + "ethtool -K d" + std::to_string(i) + " gro on");
	}
	std::string all_ifs;
	for (const auto &i : ifs)
		all_ifs += " " + i;
	uint32_t prog_base = last_id(bpf_prog_get_next_id), map_base = last_id(bpf_map_get_next_id);

	auto loaded_everywhere = [&](const std::string &prog) {
		auto ip = ip_link_progs();
		for (const auto &i : ifs)
			EXPECT_EQ(xdpctl::prog_name(ip[i]), prog) << i;
		auto s = nlohmann::json::parse(x("status -j").out);
		for (const auto &i : s.at("interfaces"))
			if (i.at("prog_id").get<uint32_t>()) {
				EXPECT_TRUE(i.at("owned").get<bool>()) << i.at("ifname") << " held by xdpctl's pinned link";
			}
	};
	auto twins = [&](const char *a, const char *b, size_t want) {
		auto m = devmaps();
		EXPECT_EQ(m[a], m[b]) << a << " and " << b << " in step";
		EXPECT_EQ(m[a].size(), want) << a << "; status: " << xdpctl("status -j").out;
	};
	auto monitor_runs = [&] {
		auto m = x("monitor show -j");
		EXPECT_EQ(m.rc, 0) << "the whole monitor is pinned: " << m.err;
	};
	// the apply case's file: three programs, two rules, the monitor (c3's program, loaded by its
	// set-up, is not in it: apply unloads it)
	xt::TempDir dir("xdpctl-crash");
	ASSERT_TRUE(dir.ok());
	const std::string yaml = dir.path() + "/ns.yaml";
	std::ofstream(yaml) << "interfaces:\n  - match: \"c[0-2]\"\n    program: xdp_redirect\n"
			       "redirect:\n  - {in: c0, out: c1}\n  - {in: c1, out: c2}\nmonitor: true\n";
	struct Case {
		const char *what;
		std::string setup;                  // xdpctl commands (';'-separated) from a clean namespace
		std::string cmd;                    // the command killed
		std::function<void()> intended;     // the state it must leave
	};
	std::vector<Case> cases = {
		{"load of many interfaces", "", "load xdp_redirect" + all_ifs, [&] { loaded_everywhere("xdp_redirect_devmap"); }},
		{"load --replace of many interfaces", "load xdp_pass" + all_ifs, "load --replace xdp_redirect" + all_ifs,
		 [&] { loaded_everywhere("xdp_redirect_devmap"); }},
		{"unload of many interfaces", "load xdp_pass" + all_ifs, "unload" + all_ifs, [&] {
			 auto ip = ip_link_progs();
			 for (const auto &i : ifs)
				 EXPECT_EQ(ip[i], 0u) << i;
			 EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "no pins left";
		 }},
		{"unload --all", "load xdp_pass" + all_ifs, "unload --all", [&] {
			 auto ip = ip_link_progs();
			 for (const auto &i : ifs)
				 EXPECT_EQ(ip[i], 0u) << i;
			 EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "no pins left";
		 }},
		{"redirect add", "load xdp_redirect c0 c1 c2", "redirect add c0 c3", [&] { twins("tx_port", "tx_port_hash", 1); }},
		// killed between the record (c3 and the rules from and to it gone) and the kernel: the
		// rerun's converge detaches c3 and deletes the entries, its unload finds nothing to do
		{"unload of a redirect port", "load xdp_redirect" + all_ifs + ";redirect add c0 c3;redirect add c3 c1;redirect add c1 c2",
		 "unload c3", [&] {
			 EXPECT_EQ(ip_link_prog("c3"), 0u);
			 twins("tx_port", "tx_port_hash", 1);
			 const auto c1 = static_cast<uint32_t>(ifindex_of("c1")), c2 = static_cast<uint32_t>(ifindex_of("c2"));
			 EXPECT_EQ(devmaps()["tx_port"], (std::map<uint32_t, uint32_t>{{c1, c2}})) << "c1 -> c2 kept, nothing from or to c3";
			 auto rec = record();
			 ASSERT_TRUE(rec) << "the record stays (c0-c2 are loaded)";
			 ASSERT_EQ(rec->rules.size(), 1u);
			 EXPECT_EQ(rec->rules[0].in_name + " -> " + rec->rules[0].out_name, "c1 -> c2");
			 EXPECT_EQ(rec->find_if(ifindex_of("c3")), nullptr) << "c3 left the record";
		 }},
		{"redirect del", "load xdp_redirect c0 c1 c2;redirect add c0 c3;redirect add c1 c2;redirect add c2 c3",
		 "redirect del c0 c1 c2", [&] { twins("tx_port", "tx_port_hash", 0); }},
		{"broadcast add", "load xdp_broadcast c0", "broadcast add" + all_ifs,
		 [&] { twins("bcast_ports", "bcast_ports_hash", kIfs); }},
		{"broadcast del", "load xdp_broadcast c0;broadcast add" + all_ifs, "broadcast del c1 c2 c3",
		 [&] { twins("bcast_ports", "bcast_ports_hash", 1); }},
		{"multicast add", "load xdp_multicast c0", "multicast add 1 c1 c2 c3",
		 [&] { EXPECT_EQ(devmaps()["mcast_group1"].size(), 3u); }},
		{"multicast del", "load xdp_multicast c0;multicast add 1 c1 c2 c3", "multicast del 1 c1 c2",
		 [&] { EXPECT_EQ(devmaps()["mcast_group1"].size(), 1u); }},
		{"monitor start", "", "monitor start", monitor_runs},
		{"monitor stop", "monitor start", "monitor stop",
		 [&] { EXPECT_FALSE(xdpctl::path_exists(ns_dir() + "/monitor")) << "no monitor pin left"; }},
		{"apply", "load xdp_pass c3", "apply -f " + yaml, [&] {
			 auto ip = ip_link_progs();
			 for (const auto &i : {"c0", "c1", "c2"})
				 EXPECT_EQ(xdpctl::prog_name(ip[i]), "xdp_redirect_devmap") << i;
			 EXPECT_EQ(ip["c3"], 0u) << "c3's program, not in the file, unloaded";
			 twins("tx_port", "tx_port_hash", 2);
			 monitor_runs();
			 auto again = x("apply -f " + yaml);
			 EXPECT_EQ(again.rc, 0) << again.err;
			 EXPECT_EQ(again.out, "no changes\n");
		 }},
	};
	auto reset = [&] {
		if (xdpctl::path_exists(ns_dir() + "/monitor")) {
			auto m = x("monitor stop");
			ASSERT_EQ(m.rc, 0) << m.err;
		}
		auto u = x("unload --all");
		ASSERT_EQ(u.rc, 0) << u.err;
		ASSERT_FALSE(xdpctl::path_exists(ns_dir())) << "clean between trials";
	};
	auto setup = [&](const Case &c) {
		for (size_t at = 0; at < c.setup.size();) {
			size_t semi = c.setup.find(';', at);
			std::string one = c.setup.substr(at, semi == std::string::npos ? std::string::npos : semi - at);
			auto r = x(one);
			ASSERT_EQ(r.rc, 0) << one << ": " << r.err;
			at = semi == std::string::npos ? c.setup.size() : semi + 1;
		}
	};
	// One trial: killed by `how`; returns whether the kill landed (false: the command finished).
	int kills = 0;
	std::map<std::string, std::pair<int, int>> per_case; // what -> kills at step boundaries, at random moments
	bool random_phase = false;
	auto trial = [&](const Case &c, const std::function<CmdResult()> &how) {
		reset();
		setup(c);
		if (::testing::Test::HasFatalFailure())
			return false;
		int rc = how().rc;
		if (rc == 0) {
			c.intended();
			return false;
		}
		EXPECT_EQ(rc, -SIGKILL) << "killed, not failed";
		kills++;
		(random_phase ? per_case[c.what].second : per_case[c.what].first)++;
		expect_unlocked();
		expect_status_true();
		auto again = x(c.cmd);
		EXPECT_EQ(again.rc, 0) << "the same command again finishes the job: " << again.err;
		SCOPED_TRACE("the rerun said: " + again.out);
		c.intended();
		expect_no_staged_pins();
		auto rep = x("repair -j");
		EXPECT_EQ(rep.rc, 0) << rep.err;
		EXPECT_EQ(rep.out, "[]\n") << "converged: repair finds nothing to do";
		return true;
	};

	const char *only = std::getenv("XDPCTL_CRASH_ONLY"); // a case by a word of its name, to debug one
	std::erase_if(cases, [&](const Case &c) { return only && *only && !std::string(c.what).contains(only); });
	// The kernel lane (TCG guests, ten times slower) proves the kernels' side of the trials: one
	// kill per case there, at step 2; every step boundary and the random moments on the host.
	// Step 1 is the record write of every verb here (from the converged state the set-up leaves,
	// a command's converge crosses no boundary, and load, unload, unload --all and each devmap
	// add/del write the record before anything else; write_state's boundary comes before its map
	// update), so a kill there leaves the kernel as the set-up made it and the rerun is a plain
	// run; at step 2 the intent is recorded and nothing of it done yet.
	const bool lane = in_lane();
	const int first_step = lane ? 2 : 1, max_step = lane ? 3 : 200;
	for (const auto &c : cases) {
		SCOPED_TRACE(c.what);
		int step = first_step;
		for (; step < max_step; step++) {
			SCOPED_TRACE("killed at step " + std::to_string(step));
			if (!trial(c, [&] { return run_xdpctl(fs_->root(), split_args(c.cmd), step); }))
				break;
			if (::testing::Test::HasFailure())
				return;
		}
		EXPECT_GT(step, first_step) << "the command crosses step boundaries (a kill landed at step " << first_step << ")";
	}
	int step_kills = kills;
	random_phase = true;

	// random moments: a uniform delay over the command's own run time
	std::mt19937 rng(12345);
	int rounds = knob("XDPCTL_CRASH_RANDOM", lane ? 0 : 30);
	for (int r = 0; r < rounds; r++) {
		const auto &c = cases[static_cast<size_t>(r) % cases.size()];
		SCOPED_TRACE(std::string(c.what) + ", random round " + std::to_string(r));
		reset();
		setup(c);
		auto t0 = std::chrono::steady_clock::now();
		ASSERT_EQ(run_xdpctl(fs_->root(), split_args(c.cmd)).rc, 0);
		auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
		int delay = std::uniform_int_distribution<int>(0, static_cast<int>(took))(rng);
		(void)trial(c, [&] { return run_xdpctl(fs_->root(), split_args(c.cmd), 0, delay); });
		if (::testing::Test::HasFailure())
			return;
	}
	reset();
	RecordProperty("step_kills", step_kills);
	RecordProperty("random_kills", kills - step_kills);
	for (const auto &c : cases)
		std::printf("[ crash    ] %-36s %3d at step boundaries, %3d at random moments\n", c.what,
			    per_case[c.what].first, per_case[c.what].second);
	std::printf("[ crash    ] %d kills at step boundaries, %d at random moments, all finished by a rerun\n", step_kills,
		    kills - step_kills);
	if ((!only || !*only) && !lane) {
		EXPECT_GE(step_kills, 70) << "every case crosses its step boundaries";
	}
	auto left = no_objects_left(prog_base, map_base);
	EXPECT_EQ(left.first, 0) << "programs leaked";
	EXPECT_EQ(left.second, 0) << "maps leaked";
}

// What another command finishes of a killed one it says: after a kill at every step boundary,
// `repair -j` reports each interface whose program it changed ("finished" a load or replace,
// "unloaded" for an interrupted unload) and each devmap entry it wrote or removed ("entry"), and
// reports nothing when it changed nothing; a later `repair` finds nothing. A verb other than
// repair says the same steps on stderr ("xdpctl: finished ...") and keeps its stdout its own.
TEST_F(LoaderConverge, WhatAnotherCommandFinishesOfAKilledOneIsReported)
{
	constexpr int kIfs = 4;
	std::string all_ifs;
	add_veths(veth_pairs("c", "d", kIfs));
	for (int i = 0; i < kIfs; i++) {
		all_ifs += " c" + std::to_string(i);
		sh(ns().exec() + "ethtool -K d" + std::to_string(i) + " gro on");
	}
	struct Case {
		std::string what, setup, cmd; // setup: ';'-separated xdpctl commands
	};
	const std::string pass_all = "load xdp_pass" + all_ifs, bcast_all = "broadcast add" + all_ifs;
	const std::vector<Case> cases = {
		{"load", "", "load xdp_redirect" + all_ifs},
		{"load --replace", pass_all, "load --replace xdp_redirect" + all_ifs},
		{"unload", pass_all, "unload" + all_ifs},
		{"redirect add", "load xdp_redirect c0 c1 c2", "redirect add c0 c3"},
		{"redirect del", "load xdp_redirect c0 c1 c2;redirect add c0 c3;redirect add c1 c2", "redirect del c0 c1"},
		{"broadcast add", "load xdp_broadcast c0", bcast_all},
		{"broadcast del", "load xdp_broadcast c0;" + bcast_all, "broadcast del c1 c2 c3"},
	};
	auto run_all = [&](const std::string &cmds) {
		for (size_t at = 0; at < cmds.size();) {
			size_t semi = cmds.find(';', at);
			std::string one = cmds.substr(at, semi == std::string::npos ? std::string::npos : semi - at);
			auto r = x(one);
			ASSERT_EQ(r.rc, 0) << one << ": " << r.err;
			at = semi == std::string::npos ? cmds.size() : semi + 1;
		}
	};
	// in the lane one kill per case, at step 2 (step 1 is the record write: see
	// KilledCommandsAreFinishedByRunningThemAgain); every boundary on the host
	const int first_step = in_lane() ? 2 : 1, max_step = in_lane() ? 3 : 200;
	int reported = 0, entries = 0;
	for (const auto &c : cases) {
		const std::string &setup = c.setup;
		SCOPED_TRACE(c.what);
		for (int step = first_step; step < max_step; step++) {
			SCOPED_TRACE("killed at step " + std::to_string(step));
			ASSERT_EQ(x("unload --all").rc, 0);
			run_all(setup);
			if (::testing::Test::HasFatalFailure())
				return;
			if (run_xdpctl(fs_->root(), split_args(c.cmd), step).rc == 0)
				break; // the command ended before this step: every boundary was tried
			auto progs0 = ip_link_progs();
			auto maps0 = devmaps();
			auto rep = x("repair -j");
			ASSERT_EQ(rep.rc, 0) << rep.err;
			auto notes = nlohmann::json::parse(rep.out);
			auto progs1 = ip_link_progs();
			auto maps1 = devmaps();
			auto noted = [&](const std::string &ifname, int ifindex, std::initializer_list<const char *> states) {
				for (const auto &n : notes)
					for (const char *st : states)
						if (n.at("state") == st && (n.at("ifname") == ifname || n.at("ifindex") == ifindex))
							return true;
				return false;
			};
			for (const auto &[ifname, id] : progs1)
				if (progs0[ifname] != id) {
					EXPECT_TRUE(noted(ifname, -1, {"finished", "unloaded"}))
						<< ifname << "'s program changed (" << progs0[ifname] << " -> " << id
						<< ") and repair did not say so: " << rep.out;
					reported++;
				}
			std::set<std::string> names;
			for (const auto &[m, e] : maps0)
				names.insert(m);
			for (const auto &[m, e] : maps1)
				names.insert(m);
			for (const auto &m : names) {
				std::set<uint32_t> keys;
				for (const auto &[k, v] : maps0[m])
					keys.insert(k);
				for (const auto &[k, v] : maps1[m])
					keys.insert(k);
				for (uint32_t k : keys)
					if (maps0[m][k] != maps1[m][k]) {
						EXPECT_TRUE(noted("", static_cast<int>(k), {"entry"}))
							<< m << " key " << k << " changed and repair did not say so: " << rep.out;
						entries++;
					}
			}
			EXPECT_EQ(x("repair -j").out, "[]\n") << "a second repair finds nothing";
			if (::testing::Test::HasFailure())
				return;
		}
	}
	// the property was exercised, not vacuous: kills left work that repair finished and named
	EXPECT_GT(reported, 0) << "no kill left an interface for repair to finish";
	EXPECT_GT(entries, 0) << "no kill left a devmap entry for repair to finish";

	// another verb: the steps on stderr, its own output on stdout
	bool named = false;
	for (int step = first_step; step < max_step && !named; step++) {
		SCOPED_TRACE("redirect add killed at step " + std::to_string(step));
		ASSERT_EQ(x("unload --all").rc, 0);
		run_all("load xdp_redirect c0 c1 c2");
		if (run_xdpctl(fs_->root(), split_args("redirect add c0 c3"), step).rc == 0)
			break;
		auto other = x("-j redirect add c1 c2");
		ASSERT_EQ(other.rc, 0) << other.err;
		EXPECT_TRUE(nlohmann::json::accept(other.out)) << "stdout stays the verb's JSON: " << other.out;
		if (other.err.find("xdpctl: finished: wrote the redirect rule c0 -> c3 (an interrupted redirect add)\n") !=
		    std::string::npos)
			named = true;
		else
			EXPECT_EQ(other.err, "") << "stderr holds nothing but convergence steps";
	}
	EXPECT_TRUE(named) << "a kill of `redirect add` left its rule for the next verb, which finished and named it";
	ASSERT_EQ(x("unload --all").rc, 0);
}

// 2-4 xdpctl processes on the same interfaces: no hang, no crash, each command succeeds or
// fails with its one line, and at the end the namespace is what the kernel says.
TEST_F(LoaderConverge, RacingProcessesLeaveATrueState)
{
	std::vector<std::string> ifs;
	add_veths(veth_pairs("r", "s", 4));
	for (int i = 0; i < 4; i++)
		sh(ns().exec() + "ethtool -K s" + std::to_string(i) + " gro on");
	std::vector<std::string> ops = {"load xdp_redirect r0 r1 r2 r3", "load --replace xdp_pass r0 r1",
					      "load --replace xdp_redirect r0 r1 r2 r3", "unload r0 r2",
					      "redirect add r1 r2 --replace",  "redirect add r3 r0 --replace",
					      "redirect del r1 r3",             "unload --all",
					      "monitor start",                  "monitor stop"};
	xt::TempDir dir("xdpctl-race");
	ASSERT_TRUE(dir.ok());
	ops.push_back("apply -f " + dir.path() + "/ns.yaml");
	std::ofstream(dir.path() + "/ns.yaml") << "interfaces:\n  - match: \"r[0-3]\"\n    program: xdp_redirect\n"
						 "redirect:\n  - {in: r0, out: r1}\n  - {in: r2, out: r3}\nmonitor: true\n";
	int rounds = knob("XDPCTL_RACE_ROUNDS", in_lane() ? 5 : 30);
	const int procs = std::clamp(knob("XDPCTL_RACE_PROCS", 3), 2, 4);
	uint32_t prog_base = last_id(bpf_prog_get_next_id), map_base = last_id(bpf_map_get_next_id);
	std::atomic<int> bad{0}, ok{0};
	std::vector<std::thread> ts;
	for (int p = 0; p < procs; p++)
		ts.emplace_back([&, p] {
			if (!join_netns(ns()))
				return;
			std::mt19937 rng(static_cast<unsigned>(p + 1));
			for (int r = 0; r < rounds; r++) {
				const auto &op = ops[std::uniform_int_distribution<size_t>(0, ops.size() - 1)(rng)];
				int rc = run_xdpctl(fs_->root(), split_args(op)).rc;
				if (rc == 0)
					ok++;
				else if (rc != 1)
					bad++;
			}
		});
	for (auto &t : ts)
		t.join();
	std::printf("[ race     ] %d processes, %d commands: %d exited 0, %d refused (exit 1), %d otherwise\n", procs,
		    procs * rounds, ok.load(), procs * rounds - ok.load() - bad.load(), bad.load());
	EXPECT_EQ(bad.load(), 0) << "every command exited 0 or 1 (no crash, no usage error)";
	EXPECT_GT(ok.load(), 0);
	expect_unlocked();
	auto rep = xdpctl("repair -j");
	EXPECT_EQ(rep.rc, 0) << rep.err;
	EXPECT_EQ(rep.out, "[]\n") << "the racers left a converged namespace";
	expect_status_true();
	expect_no_staged_pins();
	auto m = devmaps();
	EXPECT_EQ(m["tx_port"], m["tx_port_hash"]) << "twin maps in step";
	auto s = nlohmann::json::parse(xdpctl("status -j").out);
	for (const auto &i : s.at("interfaces"))
		if (i.at("prog_id").get<uint32_t>()) {
			EXPECT_TRUE(i.at("owned").get<bool>()) << i.at("ifname") << ": every program is xdpctl's, by its pinned link";
		}
	ASSERT_EQ(xdpctl("monitor stop").rc, 0);
	ASSERT_EQ(xdpctl("unload --all").rc, 0);
	auto ip = ip_link_progs();
	for (const auto &i : {"r0", "r1", "r2", "r3"})
		EXPECT_EQ(ip[i], 0u) << i;
	EXPECT_FALSE(xdpctl::path_exists(ns_dir()));
	EXPECT_EQ(no_objects_left(prog_base, map_base), (std::pair<int, int>{0, 0})) << "programs, maps of ours left";
}

} // namespace
