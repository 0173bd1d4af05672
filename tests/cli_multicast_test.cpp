// xdpctl multicast, run as a user runs it, with real frames: xdp_multicast on two ingress veths
// (in0, in1: the second instance must reuse the first's pinned MAC table and group devmaps),
// group 1 = g1a + g1b, group 2 = g2a, MAC A -> group 1, MAC B -> group 2. A frame sent into an
// ingress port arrives at the peers of exactly its group's ports; a MAC in no group gets
// miss_action (XDP_PASS: the ingress port's own stack sees it). Then the bad inputs: one line,
// the exit code, and no map changed; an interface named twice in any verb among them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "bpffs_dir.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
#include "netns.hpp"
#include "xdpctl_fixture.hpp"
#include "packet.hpp"
#include "traffic.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/loader.hpp"

using namespace xt;
using namespace std::chrono_literals;

namespace {
const Mac kA = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x0a};
const Mac kB = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x0b};
const Mac kUnknown = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x0c};
const char *const kAStr = "01:00:5e:00:00:0a";
const char *const kBStr = "01:00:5e:00:00:0b";

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

// Capture points: the group ports' peers, and the ingress ports themselves (XDP_PASS).
const char *const kPoints[] = {"g1ap", "g1bp", "g2ap", "in0", "in1"};
// How many copies of the frame each capture point gets; points not listed get none.
using Expect = std::map<std::string, size_t>;
} // namespace

class CliMulticast : public XdpctlNetnsTest {
protected:
	void SetUp() override
	{
		XdpctlNetnsTest::SetUp();
		if (HasFatalFailure())
			return;
		std::vector<std::pair<std::string, std::string>> pairs;
		for (const char *p : {"in0", "in1", "g1a", "g1b", "g2a"})
			pairs.emplace_back(p, std::string(p) + "p");
		for (const auto &v : add_veths(pairs))
			ASSERT_GT(v.ifindex, 0) << "veth " << v.name;
	}
	// The groups as built by every test: loaded on both ingress ports, two groups, two MACs.
	void build_groups()
	{
		for (const char *c : {"load xdp_multicast in0 in1", "multicast add 1 g1a g1b", "multicast add 2 g2a",
				      "multicast mac add 01:00:5e:00:00:0a 1", "multicast mac add 01:00:5e:00:00:0b 2"}) {
			auto r = xdpctl(c);
			ASSERT_EQ(r.rc, 0) << c << ": " << r.err;
		}
	}
	// Sends n frames to dst into `in` (from its peer) and checks every capture point.
	void send_and_expect(const std::string &in, const Mac &dst, const Expect &want, const std::string &what)
	{
		SCOPED_TRACE(what);
		std::map<std::string, std::unique_ptr<Capture>> caps;
		for (const char *p : kPoints)
			caps[p] = std::make_unique<Capture>(p, kEthTest);
		Bytes f = Packet().eth(dst, mac_of(in + "p")).payload(46, 0x5a).build();
		const int kN = 5;
		ASSERT_EQ(send_frames(in + "p", f, kN), kN) << "frames sent";
		for (const char *p : kPoints) {
			auto it = want.find(p);
			size_t n = it == want.end() ? 0 : it->second * kN;
			auto got = caps[p]->drain(n ? 500ms : 100ms);
			EXPECT_EQ(got.size(), n) << "copies at " << p;
			for (const auto &g : got)
				EXPECT_EQ(g, f) << "frame at " << p << " unchanged: " << hex(g);
		}
	}
	// What the maps hold: the devmaps as `status -j` shows them, and the MAC table.
	std::string state()
	{
		auto st = xdpctl("status -j");
		auto j = nlohmann::json::parse(st.out, nullptr, false);
		std::string s = j.is_discarded() ? "status: " + st.err : j.value("devmaps", nlohmann::json()).dump();
		auto l = xdpctl::current_layout();
		if (!l)
			return s + " layout: " + l.error().message();
		auto m = xdpctl::multicast_macs(*l);
		if (!m)
			return s + " macs: " + m.error().message();
		for (const auto &e : *m)
			s += " " + xdpctl::mac_string(e.mac) + "->" + std::to_string(e.group);
		return s;
	}
};

TEST_F(CliMulticast, FramesReachExactlyTheirGroupsPorts)
{
	build_groups();
	// Both instances must use the namespace's maps: one MAC table, one array of groups.
	auto l = xdpctl::current_layout();
	ASSERT_TRUE(l) << l.error().message();
	for (const char *m : {"mcast_macs", "mcast_groups", "mcast_group1", "mcast_group2"})
		EXPECT_TRUE(xdpctl::path_exists(l->map_pin(m))) << m << " pinned for the namespace";

	struct Row {
		const char *what;
		std::string in;
		Mac dst;
		Expect want;
	};
	const Row rows[] = {
		{"A into in0: group 1", "in0", kA, {{"g1ap", 1}, {"g1bp", 1}}},
		{"B into in0: group 2", "in0", kB, {{"g2ap", 1}}},
		{"unknown MAC into in0: XDP_PASS", "in0", kUnknown, {{"in0", 1}}},
		{"A into in1 (second instance): group 1", "in1", kA, {{"g1ap", 1}, {"g1bp", 1}}},
		{"B into in1 (second instance): group 2", "in1", kB, {{"g2ap", 1}}},
		{"unknown MAC into in1: XDP_PASS", "in1", kUnknown, {{"in1", 1}}},
	};
	for (const auto &r : rows)
		send_and_expect(r.in, r.dst, r.want, r.what);

	auto st = xdpctl("status");
	EXPECT_EQ(st.rc, 0) << st.err;
	EXPECT_NE(st.out.find(std::string(kAStr) + " -> group 1"), std::string::npos) << "status shows the MACs: " << st.out;

	auto d = xdpctl("multicast del 1 g1b");
	ASSERT_EQ(d.rc, 0) << d.err;
	EXPECT_EQ(d.out, "removed mcast_group1: g1b -> g1b\n") << "what was removed";
	send_and_expect("in0", kA, {{"g1ap", 1}}, "A after g1b left group 1");
	auto m = xdpctl(std::string("multicast mac del ") + kAStr);
	ASSERT_EQ(m.rc, 0) << m.err;
	EXPECT_EQ(m.out, std::string("removed mcast_macs: ") + kAStr + " -> group 1\n") << "what was removed";
	send_and_expect("in0", kA, {{"in0", 1}}, "A in no group any more: XDP_PASS");
	send_and_expect("in0", kB, {{"g2ap", 1}}, "B untouched");
}

TEST_F(CliMulticast, BadInputsFailWithOneLineAndChangeNoMap)
{
	build_groups();
	struct Row {
		const char *what;
		std::string args;
		int rc;
		const char *says;
	};
	const Row rows[] = {
		{"group out of range", "multicast add 7 g1a", 2, "GROUP 7 out of range: groups are 0..3"},
		{"group out of range on del", "multicast del 4 g1a", 2, "out of range"},
		{"group out of range for a MAC", "multicast mac add 01:00:5e:00:00:09 4", 2, "out of range"},
		{"MAC too short", "multicast mac add 01:00:5e:00:00 1", 2, "is not a MAC"},
		{"MAC with a bad digit", "multicast mac add 01:00:5e:00:00:0g 1", 2, "is not a MAC"},
		{"MAC with dashes", "multicast mac add 01-00-5e-00-00-09 1", 2, "is not a MAC"},
		{"bad MAC on del", "multicast mac del zz", 2, "is not a MAC"},
		{"unknown interface", "multicast add 1 nosuchif0", 1, "nosuchif0: not found in this network namespace"},
		{"unknown interface after a good one", "multicast add 2 g1a nosuchif0", 1, "nosuchif0"},
		{"port in the group with another egress program", "multicast add 1 g1a --egress xdp_egress", 1,
		 "already has an entry in mcast_group1; remove it first or use --replace"},
		{"MAC already in a group", std::string("multicast mac add ") + kAStr + " 2", 1, "is already in group 1"},
		{"egress action without egress program", "multicast add 3 g1a --egress-mac", 2, "--egress-mac"},
	};
	// in the lane: the refusals that read the kernel's maps and interfaces (exit 1), without the -j
	// repeat; the usage errors (exit 2) and the JSON rendering are user space (xt::in_lane())
	const bool lane = in_lane();
	size_t left = 0;
	std::string before = state();
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		if (lane && r.rc == 2) {
			left += 2;
			continue;
		}
		auto res = xdpctl(r.args);
		EXPECT_EQ(res.rc, r.rc) << "exit code; stderr: " << res.err;
		EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_TRUE(res.out.empty()) << "nothing on stdout: " << res.out;
		EXPECT_EQ(state(), before) << "no map changed";
		if (lane) {
			left++;
			continue;
		}
		auto js = xdpctl(r.args + " -j");
		EXPECT_EQ(js.rc, r.rc) << "the same exit code with -j";
		EXPECT_EQ(js.err, res.err) << "the same line on stderr with -j";
		expect_json_error(js.out, r.rc, r.says);
		EXPECT_EQ(state(), before) << "no map changed with -j";
	}
	lane_left_to_host(left, "runs (usage errors and -j repeats)");
	send_and_expect("in0", kA, {{"g1ap", 1}, {"g1bp", 1}}, "group 1 still as built");
}

// Nothing loaded (a bpffs of its own: the namespace has no pins there): every verb says what to
// load, exits 1, and creates nothing.
TEST_F(CliMulticast, WithoutXdpMulticastLoadedNothingIsWritten)
{
	{
		BpffsDir empty;
		ASSERT_TRUE(empty.ok()) << "second private bpffs";
		for (const char *c : {"multicast add 1 g1a", "multicast del 1 g1a", "multicast mac add 01:00:5e:00:00:0a 1",
				      "multicast mac del 01:00:5e:00:00:0a"}) {
			SCOPED_TRACE(c);
			auto r = xdpctl(c, &empty);
			EXPECT_EQ(r.rc, 1) << "exit code; stderr: " << r.err;
			EXPECT_EQ(lines(r.err), 1u) << "one line: " << r.err;
			EXPECT_NE(r.err.find("nothing loaded in this namespace"), std::string::npos) << "says why: " << r.err;
			EXPECT_TRUE(tree(empty.root()).empty()) << "nothing pinned or created";
		}
	}
	// BpffsDir points XDPCTL_BPFFS at itself and unsets it when it goes: back to the test's
	setenv("XDPCTL_BPFFS", fs_->root().c_str(), 1);
	// xdp_broadcast pins the group devmaps (they are devmaps of its object) but not the MAC
	// table: neither a MAC nor a port goes into a group until xdp_multicast is loaded.
	ASSERT_EQ(xdpctl("load xdp_broadcast in0").rc, 0);
	auto pins = tree(fs_->root());
	for (const char *c : {"multicast mac add 01:00:5e:00:00:0a 1", "multicast add 1 g1a"}) {
		SCOPED_TRACE(c);
		auto r = xdpctl(c);
		EXPECT_EQ(r.rc, 1) << r.err;
		EXPECT_EQ(lines(r.err), 1u) << "one line: " << r.err;
		EXPECT_NE(r.err.find("load one first: xdpctl load xdp_multicast"), std::string::npos) << r.err;
		EXPECT_EQ(tree(fs_->root()), pins) << "no pin added or removed";
	}
	auto st = xdpctl("status -j");
	ASSERT_EQ(st.rc, 0) << st.err;
	const auto sj = nlohmann::json::parse(st.out); // named: a range over a temporary's member dangles
	for (const auto &m : sj.at("devmaps"))
		EXPECT_TRUE(m.at("entries").empty()) << m.at("name") << ": no entry written";
}

// An interface named twice, in every verb that takes a list of them, with every map those verbs
// write in use (the multicast groups, the broadcast group and its hash twin, the redirect rules):
// a usage error, exit 2, one line, and nothing changed (programs, every devmap's entries, the
// MAC table, the pins). Named once, the same port goes into both broadcast twins.
TEST_F(CliMulticast, AnInterfaceNamedTwiceIsAUsageErrorAndChangesNothing)
{
	build_groups();
	for (const char *c :
	     {"load xdp_broadcast g1ap", "broadcast add g1a g1b", "load xdp_redirect g2ap", "redirect add g2ap g2a"}) {
		auto r = xdpctl(c);
		ASSERT_EQ(r.rc, 0) << c << ": " << r.err;
	}
	struct Row {
		std::string args, verb, name;
	};
	const Row rows[] = {
		{"unload in0 in0", "unload", "in0"},
		{"load xdp_pass g2a g2a", "load", "g2a"},
		{"load --replace xdp_multicast in0 in1 in0", "load", "in0"},
		{"broadcast add g2a g2a", "broadcast add", "g2a"},
		{"broadcast add g2a g1a g2a --replace", "broadcast add", "g2a"},
		{"broadcast del g1a g1a", "broadcast del", "g1a"},
		{"multicast add 2 g1a g1a", "multicast add", "g1a"},
		{"multicast del 1 g1a g1b g1a", "multicast del", "g1a"},
		{"redirect del g2ap g2ap", "redirect del", "g2ap"},
	};
	// every row is a usage error, refused while parsing: the host runs them; the lane keeps the
	// set-up and the port named once, which goes into both broadcast devmaps (xt::in_lane())
	if (in_lane()) {
		lane_left_to_host(std::size(rows), "usage-error rows");
	} else {
		std::string status_before = xdpctl("status -j").out, maps_before = state();
		auto pins_before = tree(fs_->root());
		for (const auto &r : rows) {
			SCOPED_TRACE(r.args);
			std::string says = "interface '" + r.name + "' given twice: name each interface once";
			auto res = xdpctl(r.args);
			EXPECT_EQ(res.rc, 2) << res.err;
			EXPECT_EQ(res.err, "xdpctl " + r.verb + ": " + says + "\n") << "the one line";
			EXPECT_TRUE(res.out.empty()) << res.out;
			auto js = xdpctl(r.args + " -j");
			EXPECT_EQ(js.rc, 2) << js.err;
			EXPECT_EQ(js.err, res.err) << "the same line with -j";
			expect_json_error(js.out, 2, says);
			EXPECT_EQ(xdpctl("status -j").out, status_before) << "programs and devmaps unchanged";
			EXPECT_EQ(state(), maps_before) << "MAC table unchanged";
			EXPECT_EQ(tree(fs_->root()), pins_before) << "pins unchanged";
		}
	}
	auto add = xdpctl("broadcast add g2a");
	ASSERT_EQ(add.rc, 0) << add.err;
	auto st = xdpctl("status -j");
	ASSERT_EQ(st.rc, 0) << st.err;
	std::map<std::string, size_t> entries;
	auto j = nlohmann::json::parse(st.out); // kept: a range over parse(...).at() would dangle
	for (const auto &m : j.at("devmaps"))
		entries[m.at("name").get<std::string>()] = m.at("entries").size();
	EXPECT_EQ(entries["bcast_ports"], 3u) << st.out;
	EXPECT_EQ(entries["bcast_ports_hash"], 3u) << "the twins agree: " << st.out;
}
