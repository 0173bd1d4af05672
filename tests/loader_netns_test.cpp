// The loader and the xdpctl binary on real veths in a namespace of their own: attach, atomic
// replace under traffic, detach leaving the system as before, redirect with real frames, and the
// bad inputs that need interfaces (duplicate load, racing loaders, removed interface, missing
// privileges, native mode impossible).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bpf/bpf.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <thread>

#include "bpffs_dir.hpp"
#include "netns.hpp"
#include "xdpctl_fixture.hpp"
#include "wire_capture.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/broadcast.h"
#include "xdpctl/devmap.hpp"
#include "xdpctl/egress.h"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/readiness.hpp"
#include "xdpctl/status.hpp"

using namespace xt;

namespace {
const std::string kBin = XDPCTL_BIN;
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;

// Whether rtnetlink answers: a child dumps the links; if it has not finished within a few
// seconds a kernel task holds the rtnl lock, and every test here would hang in SetUp.
bool rtnl_answers()
{
	static int answer = -1; // probed once per process
	if (answer >= 0)
		return answer;
	pid_t pid = fork();
	if (pid == 0) {
		// a child stuck in the kernel must not hold the test's stdout/stderr open
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		struct if_nameindex *all = if_nameindex();
		_exit(all ? 0 : 1);
	}
	for (int i = 0; i < 50; i++) {
		int st = 0;
		if (waitpid(pid, &st, WNOHANG) == pid)
			{
			answer = WIFEXITED(st) && WEXITSTATUS(st) == 0;
			return answer;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	answer = 0;
	return false;
}

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

void send_frames(int ifindex, const Bytes &frame, int n)
{
	int s = socket(AF_PACKET, SOCK_RAW, 0);
	ASSERT_GE(s, 0) << "packet socket";
	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = ifindex;
	to.sll_halen = 6;
	for (int i = 0; i < n; i++)
		ASSERT_EQ(sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)),
			  static_cast<ssize_t>(frame.size()))
			<< "frame " << i << " sent";
	close(s);
}

// UDP of the traffic tests: datagrams carry a 32-bit sequence number, so the receiver counts
// distinct ones (and can say which are missing).
constexpr uint16_t kUdpPort = 7999;

// A UDP socket made inside ns (a socket stays in the namespace it was made in), bound to `port`
// on every address, allowed to send to the subnet's broadcast address.
xdpctl::Fd udp_socket(NetNs &ns, uint16_t port)
{
	ns.enter();
	xdpctl::Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	ns.leave();
	if (!s)
		return s;
	int on = 1, buf = 4 << 20;
	setsockopt(s.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
	setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	if (bind(s.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)))
		return xdpctl::Fd();
	return s;
}

bool send_udp(int fd, const std::string &ip, uint32_t seq)
{
	sockaddr_in to{};
	to.sin_family = AF_INET;
	to.sin_port = htons(kUdpPort);
	inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
	uint8_t payload[64] = {};
	std::memcpy(payload, &seq, sizeof(seq));
	return sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) ==
	       static_cast<ssize_t>(sizeof(payload));
}

// Sends seqs [first, first + n) to ip, at most `window` ahead of what `delivered` says arrived
// (so that no ring on the way overflows, and a loss is the path's, not the sender's). A window
// that does not move for a second (64 datagrams lost) fails the test.
void send_udp_stream(int fd, const std::string &ip, uint32_t first, uint32_t n, const std::atomic<uint32_t> *delivered,
		     uint32_t window = 64)
{
	for (uint32_t seq = first; seq < first + n; seq++) {
		int waited = 0;
		for (; delivered && seq - delivered->load() >= window && waited < 10000; waited++)
			std::this_thread::sleep_for(std::chrono::microseconds(100));
		ASSERT_LT(waited, 10000) << "nothing arrived for a second: the path is broken at datagram " << seq;
		ASSERT_TRUE(send_udp(fd, ip, seq)) << "datagram " << seq << " sent: " << strerror(errno);
	}
}

// The distinct sequence numbers that arrive on fd until nothing came for `quiet`.
std::set<uint32_t> receive_udp(int fd, std::chrono::milliseconds quiet = std::chrono::milliseconds(1000),
			       std::atomic<uint32_t> *count = nullptr, const std::atomic<bool> *until = nullptr)
{
	std::set<uint32_t> seqs;
	for (;;) {
		pollfd p{fd, POLLIN, 0};
		if (poll(&p, 1, static_cast<int>(quiet.count())) <= 0) {
			if (!until || *until)
				break;
			continue;
		}
		uint8_t buf[256];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n >= 4) {
			uint32_t seq;
			std::memcpy(&seq, buf, sizeof(seq));
			seqs.insert(seq);
			if (count)
				*count = static_cast<uint32_t>(seqs.size());
		}
	}
	return seqs;
}

std::string mac_text(const Mac &m)
{
	char b[18];
	snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

std::string missing(const std::set<uint32_t> &got, uint32_t n)
{
	std::string out;
	int shown = 0;
	for (uint32_t i = 0; i < n && shown < 20; i++)
		if (!got.contains(i)) {
			out += std::to_string(i) + " ";
			shown++;
		}
	return out.empty() ? "none" : out;
}
} // namespace

class LoaderNetns : public XdpctlNetnsTest {
protected:
	void SetUp() override
	{
		if (!rtnl_answers())
			GTEST_SKIP() << "rtnetlink does not answer on this machine (the rtnl lock is held); cannot create namespaces";
		XdpctlNetnsTest::SetUp();
	}
	void TearDown() override
	{
		XdpctlNetnsTest::TearDown();
		hosts_.clear();
	}

	// A host behind a port: a namespace of its own holding the peer (eth0) of the test
	// namespace's veth `port`, with address 10.9.0.<n>/24. Ports have no address: whatever
	// reaches a host from another came through xdpctl's programs.
	struct Host {
		std::unique_ptr<NetNs> ns;
		VethPair v; // v.name: the port; v.peer: the host's eth0
		std::string ip;
	};
	Host &add_host(const std::string &port, int n)
	{
		auto h = std::make_unique<Host>();
		h->ns = std::make_unique<NetNs>();
		h->ip = "10.9.0." + std::to_string(n);
		h->v = add_veth(port, "eth0", h->ns.get());
		must(h->ns->exec() + "ip addr add " + h->ip + "/24 dev eth0");
		// A veth hands its frames over with the UDP checksum left to "hardware" (CHECKSUM_PARTIAL);
		// XDP_REDIRECT sends the bare frame on without that note, and the receiver drops it as
		// a checksum error. Hosts compute their checksums, as a real NIC's sender would have.
		must(h->ns->exec() + "ethtool -K eth0 tx off");
		hosts_.push_back(std::move(h));
		return *hosts_.back();
	}
	// Whether from gets an answer from to; what ping printed stays in ping_out for the message.
	bool ping(const Host &from, const Host &to, int count = 1)
	{
		return sh(from.ns->exec() + "ping -c " + std::to_string(count) + " -i 0.2 -W 2 " + to.ip, &ping_out) == 0;
	}
	std::string ping_out;

	std::string ns_dir()
	{
		auto l = xdpctl::current_layout();
		return l ? l->ns_dir() : std::string("?");
	}
	uint32_t attached(const std::string &ifname)
	{
		auto idx = xdpctl::ifindex_of(ifname);
		if (!idx)
			return 0;
		auto a = xdpctl::xdp_attachment(*idx);
		return a ? a->prog_id : 0;
	}

	std::vector<std::unique_ptr<Host>> hosts_;
};

TEST_F(LoaderNetns, LoadThenUnloadLeavesTheSystemAsBefore)
{
	auto v = add_veth("a0", "a1");
	auto before = tree(fs_->mount_point());
	auto r = xdpctl::load({{"xdp_pass", {}}, {"a0", "a1"}});
	ASSERT_TRUE(r) << r.error().message();
	ASSERT_EQ(r->size(), 2u) << "one instance per interface";
	EXPECT_NE((*r)[0].prog_id, (*r)[1].prog_id) << "separate program instances";
	auto l = xdpctl::current_layout();
	for (int idx : {v.ifindex, v.peer_ifindex}) {
		EXPECT_TRUE(xdpctl::path_exists(l->link_pin(idx))) << "link pinned for ifindex " << idx;
		EXPECT_TRUE(xdpctl::path_exists(l->if_map_pin(idx, "xdpctl_stats"))) << "stats pinned for ifindex " << idx;
	}
	auto st = xdpctl::status();
	ASSERT_TRUE(st) << st.error().message();
	for (const auto &i : st->interfaces)
		if (i.name == "a0" || i.name == "a1") {
			EXPECT_TRUE(i.owned) << i.name << " owned by xdpctl";
			EXPECT_EQ(i.mode, xdpctl::XdpMode::Native) << i.name << " native";
			EXPECT_EQ(i.prog, "xdp_pass_prog") << i.name << " prog name";
			EXPECT_NE(i.link_id, 0u) << i.name << " link id";
		}

	auto u = xdpctl::unload({"a0", "a1"});
	ASSERT_TRUE(u) << u.error().message();
	EXPECT_EQ(attached("a0"), 0u) << "no XDP on a0";
	EXPECT_EQ(attached("a1"), 0u) << "no XDP on a1";
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "no pins under ROOT/ns<NS>";
	auto after = tree(fs_->mount_point());
	after.erase(std::remove(after.begin(), after.end(), "xdpctl"), after.end());
	EXPECT_EQ(after, before) << "bpffs as before (but ROOT)";
}

// The receiver's own program swapped again and again under a steady stream of raw frames, at
// most one burst in flight (a slow machine must not overflow the veth ring): all of them arrive.
TEST_F(LoaderNetns, AtomicReplaceUnderSteadyTrafficLosesNothing)
{
	auto v = add_veth("a0", "a1");
	ASSERT_TRUE(xdpctl::load({{"xdp_pass", {}}, {"a1"}})) << "first program";
	const int kFrames = 3000, kBurst = 32;
	auto frame = Packet().eth(v.peer_mac, v.mac, kEthTest).payload(46, 7).build();
	WireCapture cap("a1");

	std::atomic<bool> sending{true};
	std::atomic<int> replaced{0}, failed{0};
	std::string first_failure; // written by the swapper only, read after join()
	std::thread swapper([&] {
		while (sending) {
			auto r = xdpctl("load --replace xdp_pass a1");
			(r.rc == 0 ? replaced : failed)++;
			if (r.rc != 0 && first_failure.empty())
				first_failure = "rc " + std::to_string(r.rc) + ": " + r.err;
		}
	});
	size_t got = 0;
	int sent = 0;
	auto same = [&](const Bytes &b) { return b == frame; };
	// at least three swaps inside the stream, however fast or slow the machine is
	for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
	     (sent < kFrames || replaced < 3) && std::chrono::steady_clock::now() < until; sent += kBurst) {
		send_frames(v.ifindex, frame, kBurst);
		got += cap.drain(kBurst, std::chrono::milliseconds(1000), same).size();
	}
	sending = false;
	swapper.join();
	got += cap.drain(0, std::chrono::milliseconds(200), same).size();
	EXPECT_GE(replaced.load(), 3) << "the program was swapped while frames flowed";
	EXPECT_EQ(failed.load(), 0) << "every replace succeeded; the first failure: " << first_failure;
	EXPECT_EQ(got, static_cast<size_t>(sent)) << "every frame arrived";
	auto st = xdpctl::status();
	ASSERT_TRUE(st);
	for (const auto &i : st->interfaces) {
		if (i.name == "a1") {
			EXPECT_TRUE(i.owned) << "still xdpctl's link after the swaps";
		}
	}
}

TEST_F(LoaderNetns, CliLoadStatusUnloadAsAUserRunsIt)
{
	add_veth("a0", "a1");
	auto l = xdpctl("load xdp_pass a0");
	ASSERT_EQ(l.rc, 0) << l.err;
	EXPECT_NE(l.out.find("loaded xdp_pass on a0 (native mode)"), std::string::npos) << l.out;

	auto s = xdpctl("status -j");
	ASSERT_EQ(s.rc, 0) << s.err;
	auto j = nlohmann::json::parse(s.out);
	bool seen = false;
	for (const auto &i : j.at("interfaces"))
		if (i.at("ifname") == "a0") {
			seen = true;
			EXPECT_EQ(i.at("prog"), "xdp_pass_prog") << "prog name";
			EXPECT_EQ(i.at("mode"), "native") << "mode";
			EXPECT_EQ(i.at("owned"), true) << "xdpctl-owned";
			EXPECT_GT(i.at("prog_id").get<int>(), 0) << "prog id";
		}
	EXPECT_TRUE(seen) << "a0 in status: " << s.out;

	auto t = xdpctl("status");
	EXPECT_NE(t.out.find("Interface"), std::string::npos) << "table header: " << t.out;

	auto u = xdpctl("unload a0");
	EXPECT_EQ(u.rc, 0) << u.err;
	EXPECT_EQ(attached("a0"), 0u) << "detached";
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "no pins left";
}

struct NetnsBadRow {
	const char *what;
	std::string setup; // shell, in the namespace, before the command
	std::string args;
	int rc;
	const char *says;
	std::string env = {}; // the command's environment when not the test's private bpffs
};

TEST_F(LoaderNetns, BadInputsThatNeedInterfaces)
{
	add_veth("a0", "a1");
	std::vector<NetnsBadRow> rows = {
		{"native impossible (lo has no XDP driver)", "", "load xdp_pass lo", 1, "-m skb"},
		{"another program where xdpctl loaded one", "LOAD", "load xdp_redirect a0", 1,
		 "already has XDP program xdp_pass_prog (id"},
		{"program of another tool", "ip link set dev a0 xdpgeneric obj " + kObjDir + "/xdp_pass.bpf.o sec xdp", "load xdp_pass a0",
		 1, "not loaded by xdpctl"},
		{"unload what xdpctl did not load", "ip link set dev a0 xdpgeneric obj " + kObjDir + "/xdp_pass.bpf.o sec xdp",
		 "unload a0", 1, "was not loaded by xdpctl"},
		{"missing privileges", "", "PRIV", 1, "permission denied"},
		// ip netns exec gives the command a /sys of its own, without /sys/fs/bpf: a bpffs
		// mounted there would vanish with the command and detach what it loaded
		{"bpffs not mounted (ip netns exec, default root)", "", "load xdp_pass a0", 1,
		 "is not mounted in this mount namespace", "XDPCTL_BPFFS="},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		if (r.setup == "LOAD") {
			ASSERT_EQ(xdpctl("load xdp_pass a0").rc, 0) << "first load";
		} else if (!r.setup.empty()) {
			ASSERT_TRUE(must(ns().exec() + r.setup));
		}
		uint32_t before = attached("a0");
		auto pins_before = tree(fs_->root());
		CmdResult res;
		if (r.args == "PRIV")
			res = run_cmd(ns().exec() + "capsh --drop=cap_bpf,cap_net_admin,cap_sys_admin,cap_perfmon --shell=/bin/sh -- -c '" + kBin +
					      " load xdp_pass a0'",
				      "XDPCTL_BPFFS=" + fs_->root());
		else if (!r.env.empty())
			res = run_cmd(ns().exec() + kBin + " " + r.args, r.env);
		else
			res = xdpctl(r.args);
		EXPECT_EQ(res.rc, r.rc) << "exit code; " << res.err;
		EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_EQ(attached("a0"), before) << "a0 unchanged";
		EXPECT_EQ(attached("lo"), 0u) << "nothing on lo";
		EXPECT_EQ(tree(fs_->root()), pins_before) << "no pin added or removed";
		EXPECT_FALSE(xdpctl::path_exists("/sys/fs/bpf/xdpctl/" + ns_dir().substr(fs_->root().size() + 1)))
			<< "nothing under the default root either";
		// clean for the next row
		(void)xdpctl::unload_all();
		sh(ns().exec() + "ip link set dev a0 xdpgeneric off");
	}
	EXPECT_EQ(xdpctl("load -m skb xdp_pass lo").rc, 0) << "skb mode works where native does not";
	EXPECT_EQ(xdpctl("unload lo").rc, 0) << "and unloads";
}

TEST_F(LoaderNetns, TwoLoadersRacingForOneInterfaceOneWins)
{
	add_veth("a0", "a1");
	for (int round = 0; round < 5; round++) {
		SCOPED_TRACE("round " + std::to_string(round));
		CmdResult r1, r2;
		std::thread t([&] { r2 = xdpctl("load xdp_pass a0"); });
		r1 = xdpctl("load xdp_pass a0");
		t.join();
		// serialized by the lock: one loads, the other finds it in place and says so
		EXPECT_EQ(r1.rc, 0) << r1.err;
		EXPECT_EQ(r2.rc, 0) << r2.err;
		bool first = r1.out.find("already loaded") != std::string::npos,
		     second = r2.out.find("already loaded") != std::string::npos;
		EXPECT_EQ(first + second, 1) << "exactly one loaded: " << r1.out << r2.out;
		auto l = xdpctl::current_layout();
		auto idx = xdpctl::ifindex_of("a0");
		ASSERT_TRUE(idx);
		EXPECT_EQ(tree(l->if_dir(*idx)).size(), 2u) << "the winner's link and stats only";
		ASSERT_EQ(xdpctl("unload a0").rc, 0);
		EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "no leftovers";
	}
}

TEST_F(LoaderNetns, InterfaceRemovedWhileAttachedIsCleanedByUnloadAll)
{
	auto v = add_veth("a0", "a1");
	ASSERT_EQ(xdpctl("load xdp_pass a0").rc, 0);
	ASSERT_TRUE(must(ns().exec() + "ip link del a0"));
	auto u = xdpctl("unload a0");
	EXPECT_EQ(u.rc, 1) << "a0 is gone";
	EXPECT_NE(u.err.find("xdpctl repair"), std::string::npos) << "says what to do: " << u.err;
	EXPECT_EQ(lines(u.err), 1u) << "one line: " << u.err;
	auto s = xdpctl("status -j");
	ASSERT_EQ(s.rc, 0) << s.err;
	auto j = nlohmann::json::parse(s.out);
	EXPECT_EQ(j.at("stale_ifindexes"), nlohmann::json::array({v.ifindex})) << "stale pins reported";
	auto a = xdpctl("unload --all");
	EXPECT_EQ(a.rc, 0) << a.err;
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "pins of the removed interface gone";
}

// The devmap stand-in of tests/progs (map tx_port as in the contract) until xdp_redirect lands:
// a frame arriving on a0 leaves through b0 and is captured at b1.
TEST_F(LoaderNetns, RedirectRuleCarriesRealFrames)
{
	auto a = add_veth("a0", "a1");
	auto b = add_veth("b0", "b1");
	ASSERT_TRUE(must(ns().exec() + "ethtool -K b1 gro on")) << "b0 a ready redirect target";
	ASSERT_EQ(xdpctl("load " + kObjDir + "/loader_devmap_test.bpf.o a0").rc, 0);
	auto add = xdpctl("redirect add a0 b0");
	ASSERT_EQ(add.rc, 0) << add.err;
	auto dup = xdpctl("redirect add a0 b0");
	EXPECT_EQ(dup.rc, 0) << "the rule is in place: said so, nothing changed; " << dup.err;
	EXPECT_NE(dup.out.find("already in tx_port"), std::string::npos) << dup.out;
	auto other = xdpctl("redirect add a0 nosuchif0");
	EXPECT_EQ(other.rc, 1) << "device not in this namespace";

	auto s = nlohmann::json::parse(xdpctl("status -j").out);
	ASSERT_EQ(s.at("devmaps").size(), 1u) << "tx_port shown";
	EXPECT_EQ(s.at("devmaps")[0].at("entries")[0].at("ifname"), "b0") << "a0 -> b0";

	Capture cap("b1", kEthTest);
	auto frame = Packet().eth(kMacB, kMacA, kEthTest).payload(46, 3).build();
	send_frames(a.peer_ifindex, frame, 10);
	auto got = cap.drain(std::chrono::milliseconds(300), [&](const Bytes &f) { return f == frame; });
	EXPECT_EQ(got.size(), 10u) << "every frame redirected a0 -> b0";
	(void)b;

	EXPECT_EQ(xdpctl("redirect del a0").rc, 0) << "rule removed";
	EXPECT_EQ(xdpctl("unload --all").rc, 0);
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "devmap unpinned with the last interface";
}

// A veth is a working redirect target only when its peer has XDP or GRO: detected, refused with
// the reason, and made ready either way.
TEST_F(LoaderNetns, VethRedirectTargetReadiness)
{
	auto b = add_veth("b0", "b1");
	sh(ns().exec() + "ethtool -K b1 gro off");
	auto r = xdpctl::redirect_target_readiness(b.ifindex);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(r->is_veth) << "b0 is a veth";
	EXPECT_EQ(r->peer_ifindex, b.peer_ifindex) << "peer found through IFLA_LINK";
	EXPECT_FALSE(r->ready) << "peer has neither XDP nor GRO: " << r->reason;

	auto refused = xdpctl::make_redirect_target_ready(b.ifindex, xdpctl::ReadyPolicy::Refuse);
	ASSERT_FALSE(refused) << "refused";
	EXPECT_NE(refused.error().message().find("neither an XDP program nor GRO"), std::string::npos)
		<< refused.error().message();

	auto gro = xdpctl::make_redirect_target_ready(b.ifindex, xdpctl::ReadyPolicy::Gro);
	ASSERT_TRUE(gro) << gro.error().message();
	EXPECT_TRUE(gro->ready && gro->peer_gro) << "GRO turned on at the peer";
	ASSERT_TRUE(xdpctl::set_gro("b1", false));

	auto xdp = xdpctl::make_redirect_target_ready(b.ifindex, xdpctl::ReadyPolicy::XdpPass);
	ASSERT_TRUE(xdp) << xdp.error().message();
	EXPECT_TRUE(xdp->ready && xdp->peer_has_xdp) << "xdp_pass on the peer";
	EXPECT_NE(attached("b1"), 0u) << "b1 runs xdp_pass";

	auto lo = xdpctl::redirect_target_readiness(1);
	ASSERT_TRUE(lo);
	EXPECT_TRUE(lo->ready && !lo->is_veth) << "non-veth devices are left to their driver";
}

// A port whose veth peer lives in another (named) namespace: read there, refused with the
// reason, and made ready there.
TEST_F(LoaderNetns, VethPeerInAnotherNamespaceIsReadAndMadeReadyThere)
{
	NetNs host;
	auto p = add_veth("p0", "eth0", &host);
	sh(host.exec() + "ethtool -K eth0 gro off");
	auto r = xdpctl::redirect_target_readiness(p.ifindex);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(r->is_veth && r->peer_in_other_ns) << "p0's peer is elsewhere";
	EXPECT_EQ(r->peer_netns, host.name()) << "found among the named namespaces";
	EXPECT_EQ(r->peer_name, "eth0") << "the peer's name there";
	EXPECT_EQ(r->peer_ifindex, p.peer_ifindex) << "its ifindex there";
	EXPECT_FALSE(r->ready) << r->reason;

	auto refused = xdpctl::make_redirect_target_ready(p.ifindex, xdpctl::ReadyPolicy::Refuse);
	ASSERT_FALSE(refused) << "refused";
	EXPECT_NE(refused.error().message().find("eth0 (namespace " + host.name() + ") has neither"), std::string::npos)
		<< refused.error().message();

	auto gro = xdpctl::make_redirect_target_ready(p.ifindex, xdpctl::ReadyPolicy::Gro);
	ASSERT_TRUE(gro) << gro.error().message();
	EXPECT_TRUE(gro->ready && gro->peer_gro) << "GRO on at the peer";
	std::string out;
	sh(host.exec() + "ethtool -k eth0", &out);
	EXPECT_NE(out.find("generic-receive-offload: on"), std::string::npos) << "as ethtool sees it there: " << out;
	EXPECT_EQ(xdpctl::ifindex_of("p0").value_or(0), p.ifindex) << "the caller's namespace did not change";
}

// Two hosts, each behind a port of the test namespace: only xdp_redirect and the two rules join
// them. ping and UDP go through; before the load and after the unload nothing does.
TEST_F(LoaderNetns, RedirectPortToPortCarriesPingAndUdp)
{
	auto &a = add_host("p0", 1);
	auto &b = add_host("p1", 2);
	EXPECT_FALSE(ping(a, b)) << "no path between the hosts without xdpctl";
	sh(a.ns->exec() + "ip neigh flush dev eth0"); // b's failed ARP entry would answer "unreachable" for a while
	auto l = xdpctl("load xdp_redirect p0 p1");
	ASSERT_EQ(l.rc, 0) << l.err;
	for (const char *rule : {"p0 p1", "p1 p0"}) {
		// the ports' peers are in the hosts' namespaces: redirect add makes them ready there
		auto r = xdpctl(std::string("redirect add ") + rule);
		ASSERT_EQ(r.rc, 0) << rule << ": " << r.err;
	}
	EXPECT_TRUE(ping(a, b, 3)) << "ping a -> b -> a through the two rules: " << ping_out;

	auto rx = udp_socket(*b.ns, kUdpPort);
	auto tx = udp_socket(*a.ns, 0);
	ASSERT_TRUE(rx && tx) << "UDP sockets";
	std::atomic<uint32_t> got{0};
	std::atomic<bool> done{false};
	std::set<uint32_t> seqs;
	std::thread receiver([&] { seqs = receive_udp(rx.get(), std::chrono::milliseconds(500), &got, &done); });
	send_udp_stream(tx.get(), b.ip, 0, 500, &got);
	done = true;
	receiver.join();
	EXPECT_EQ(seqs.size(), 500u) << "every datagram a -> b; missing: " << missing(seqs, 500);

	auto st = nlohmann::json::parse(xdpctl("status -j").out);
	std::vector<std::pair<std::string, uint32_t>> ids; // what unload must free, by kind
	for (const auto &i : st.at("interfaces"))
		if (i.at("owned") == true) {
			ids.emplace_back("prog", i.at("prog_id").get<uint32_t>());
			ids.emplace_back("link", i.at("link_id").get<uint32_t>());
		}
	for (const auto &d : st.at("devmaps"))
		ids.emplace_back("map", d.at("id").get<uint32_t>());
	ASSERT_EQ(ids.size(), 6u) << "two programs, two links, two devmaps: " << st.dump();
	auto u = xdpctl("unload --all");
	EXPECT_EQ(u.rc, 0) << u.err;
	EXPECT_FALSE(ping(a, b)) << "the path went with the programs";
	EXPECT_FALSE(xdpctl::path_exists(ns_dir())) << "no pins left";
	// the kernel frees programs, links and maps once their last reference goes (some after an
	// RCU grace period): every one of them must be gone, not just unpinned
	for (const auto &[kind, id] : ids) {
		bool gone = false;
		for (int i = 0; i < 50 && !gone; i++) {
			int fd = kind == "prog" ? bpf_prog_get_fd_by_id(id)
					: kind == "link" ? bpf_link_get_fd_by_id(id) : bpf_map_get_fd_by_id(id);
			gone = fd < 0 && errno == ENOENT;
			if (fd >= 0)
				close(fd);
			if (!gone)
				std::this_thread::sleep_for(std::chrono::milliseconds(100));
		}
		EXPECT_TRUE(gone) << kind << " id " << id << " freed by unload";
	}
}

// A broadcast group of three ports: a datagram to the subnet's broadcast address from one host
// reaches the two others, once each.
TEST_F(LoaderNetns, BroadcastGroupReachesEveryOtherHost)
{
	auto &h0 = add_host("p0", 1);
	auto &h1 = add_host("p1", 2);
	auto &h2 = add_host("p2", 3);
	auto l = xdpctl("load xdp_broadcast p0 p1 p2");
	ASSERT_EQ(l.rc, 0) << l.err;
	auto b = xdpctl("broadcast add p0 p1 p2");
	ASSERT_EQ(b.rc, 0) << b.err;

	auto rx1 = udp_socket(*h1.ns, kUdpPort), rx2 = udp_socket(*h2.ns, kUdpPort);
	auto tx = udp_socket(*h0.ns, 0);
	ASSERT_TRUE(rx1 && rx2 && tx) << "UDP sockets";
	const uint32_t kCount = 100;
	for (uint32_t seq = 0; seq < kCount; seq++) {
		ASSERT_TRUE(send_udp(tx.get(), "10.9.0.255", seq)) << "broadcast " << seq << ": " << strerror(errno);
		if (seq % 16 == 15)
			std::this_thread::sleep_for(std::chrono::milliseconds(5)); // rings of 256 per hop
	}
	auto s1 = receive_udp(rx1.get()), s2 = receive_udp(rx2.get());
	EXPECT_EQ(s1.size(), kCount) << "h1 got every broadcast; missing: " << missing(s1, kCount);
	EXPECT_EQ(s2.size(), kCount) << "h2 got every broadcast; missing: " << missing(s2, kCount);
	EXPECT_TRUE(ping(h1, h2)) << "unicast goes through the group too (every port gets a copy): " << ping_out;
}

namespace {

// The port configuration an xdp_egress instance was loaded with: port_cfg in its .rodata.
std::optional<xdpctl_egress_port> egress_port_cfg(uint32_t prog_id)
{
	auto v = xdpctl::loaded_rodata(prog_id, XDPCTL_EGRESS_CFG_VAR);
	if (!v || !*v || (*v)->size() != sizeof(xdpctl_egress_port))
		return std::nullopt;
	xdpctl_egress_port cfg{};
	std::memcpy(&cfg, (*v)->data(), sizeof(cfg));
	return cfg;
}

} // namespace

// The devmap egress program of a rule, with the --egress-mac action, writes the egress port's
// MAC as the source of every frame it sends: the receiver sees p1's address, not the sender's.
TEST_F(LoaderNetns, EgressProgramRewritesTheSourceMacSeenAtTheReceiver)
{
	auto &a = add_host("p0", 1);
	auto &b = add_host("p1", 2);
	ASSERT_EQ(xdpctl("load xdp_redirect p0 p1").rc, 0);
	auto r = xdpctl("redirect add p0 p1 --egress xdp_egress --egress-mac");
	ASSERT_EQ(r.rc, 0) << r.err;
	ASSERT_EQ(xdpctl("redirect add p1 p0").rc, 0);
	auto lay = xdpctl::current_layout();
	ASSERT_TRUE(lay);
	xdpctl::Fd tx_port(bpf_obj_get(lay->map_pin("tx_port").c_str()));
	ASSERT_TRUE(tx_port) << "tx_port pinned by load";
	bpf_devmap_val to_p1{}, to_p0{};
	uint32_t key = a.v.ifindex;
	ASSERT_EQ(bpf_map_lookup_elem(tx_port.get(), &key, &to_p1), 0) << "rule p0 -> p1";
	key = b.v.ifindex;
	ASSERT_EQ(bpf_map_lookup_elem(tx_port.get(), &key, &to_p0), 0) << "rule p1 -> p0";
	EXPECT_EQ(to_p0.bpf_prog.id, 0u) << "p1 -> p0 has no egress program";
	ASSERT_NE(to_p1.bpf_prog.id, 0u) << "p0 -> p1 carries the egress program";
	auto cfg = egress_port_cfg(to_p1.bpf_prog.id);
	ASSERT_TRUE(cfg) << "port_cfg of the entry's xdp_egress instance";
	EXPECT_EQ(cfg->set_src_mac, 1) << "p1's instance configured by --egress-mac";
	EXPECT_TRUE(std::equal(b.v.mac.begin(), b.v.mac.end(), cfg->src_mac)) << "with p1's MAC";
	EXPECT_EQ(cfg->vlan_action, XDPCTL_EGRESS_VLAN_NONE) << "and nothing else";
	EXPECT_EQ(cfg->drop, 0) << "no drop policy";

	b.ns->enter();
	Capture cap("eth0", ETH_P_IP);
	b.ns->leave();
	auto rx = udp_socket(*b.ns, kUdpPort);
	auto tx = udp_socket(*a.ns, 0);
	ASSERT_TRUE(rx && tx);
	const uint32_t kCount = 20;
	std::atomic<uint32_t> got{0};
	std::atomic<bool> done{false};
	std::set<uint32_t> seqs;
	std::thread receiver([&] { seqs = receive_udp(rx.get(), std::chrono::milliseconds(500), &got, &done); });
	send_udp_stream(tx.get(), b.ip, 0, kCount, &got);
	done = true;
	receiver.join();
	EXPECT_EQ(seqs.size(), kCount) << "every datagram arrived; missing: " << missing(seqs, kCount);
	auto frames = cap.drain(std::chrono::milliseconds(200), [](const Bytes &f) {
		return f.size() >= 38 && f[23] == IPPROTO_UDP && f[36] == (kUdpPort >> 8) && f[37] == (kUdpPort & 0xff);
	});
	ASSERT_EQ(frames.size(), kCount) << "the datagrams' frames at b's eth0";
	for (const auto &f : frames) {
		EXPECT_TRUE(std::equal(b.v.mac.begin(), b.v.mac.end(), f.begin() + 6)) << "source MAC is p1's: " << hex(f, 14);
		EXPECT_TRUE(std::equal(b.v.peer_mac.begin(), b.v.peer_mac.end(), f.begin()))
			<< "destination unchanged (b's eth0): " << hex(f, 14);
	}
}

// The forwarding program itself swapped again and again while a steady UDP stream flows through
// it: every datagram arrives, and the rules (in the shared devmap) stay.
TEST_F(LoaderNetns, AtomicReplaceOfTheRedirectProgramLosesNoDatagram)
{
	auto &a = add_host("p0", 1);
	auto &b = add_host("p1", 2);
	ASSERT_EQ(xdpctl("load xdp_redirect p0 p1").rc, 0);
	ASSERT_EQ(xdpctl("redirect add p0 p1").rc, 0);
	ASSERT_EQ(xdpctl("redirect add p1 p0").rc, 0);
	// static neighbours: no ARP exchange in the middle of the stream
	ASSERT_TRUE(must(a.ns->exec() + "ip neigh replace " + b.ip + " lladdr " + mac_text(b.v.peer_mac) + " dev eth0"));
	ASSERT_TRUE(must(b.ns->exec() + "ip neigh replace " + a.ip + " lladdr " + mac_text(a.v.peer_mac) + " dev eth0"));
	auto first = xdpctl::status();
	ASSERT_TRUE(first);

	auto rx = udp_socket(*b.ns, kUdpPort);
	auto tx = udp_socket(*a.ns, 0);
	ASSERT_TRUE(rx && tx);
	std::atomic<uint32_t> got{0};
	std::atomic<bool> done{false}, swapping{true};
	std::atomic<int> replaced{0}, failed{0};
	std::string first_failure;
	std::set<uint32_t> seqs;
	std::thread receiver([&] { seqs = receive_udp(rx.get(), std::chrono::milliseconds(500), &got, &done); });
	std::thread swapper([&] {
		while (swapping) {
			auto r = xdpctl("load --replace xdp_redirect p0");
			(r.rc == 0 ? replaced : failed)++;
			if (r.rc != 0 && first_failure.empty())
				first_failure = r.err;
		}
	});
	// at least three swaps inside the stream, however slow the machine is
	uint32_t sent = 0;
	for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
	     (sent < 2000 || replaced < 3) && std::chrono::steady_clock::now() < until; sent += 100)
		send_udp_stream(tx.get(), b.ip, sent, 100, &got);
	swapping = false;
	swapper.join();
	done = true;
	receiver.join();
	EXPECT_GE(replaced.load(), 3) << "swapped while the stream flowed";
	EXPECT_EQ(failed.load(), 0) << "every replace succeeded; the first failure: " << first_failure;
	EXPECT_EQ(seqs.size(), sent) << "every datagram arrived; missing: " << missing(seqs, sent);
	auto last = xdpctl::status();
	ASSERT_TRUE(last);
	for (size_t i = 0; i < last->interfaces.size(); i++)
		if (last->interfaces[i].name == "p0") {
			EXPECT_TRUE(last->interfaces[i].owned) << "still xdpctl's link";
			EXPECT_NE(last->interfaces[i].prog_id, first->interfaces[i].prog_id) << "another program instance";
			EXPECT_EQ(last->interfaces[i].link_id, first->interfaces[i].link_id) << "the same link";
		}
	for (const auto &d : last->devmaps) {
		if (d.name == "tx_port") {
			EXPECT_EQ(d.entries.size(), 2u) << "both rules survived the swaps";
		}
	}
}

// Devmap changes the namespace does not allow, each refused with one line and exit code 1,
// leaving every devmap entry, pin and veth peer's GRO as it was.
TEST_F(LoaderNetns, DevmapBadInputsLeaveTheDevmapsAsTheyWere)
{
	auto d = add_veths({{"a0", "a1"}, {"b0", "b1"}, {"c0", "c1"}, {"d0", "d1"}}).back();
	// a DEVMAP is an array: an ingress ifindex at or beyond max_entries has no slot
	ASSERT_TRUE(must("ip -n " + ns().name() + " link add big0 index " + std::to_string(XDPCTL_DEVMAP_MAX_ENTRIES + 1000) +
			 " type veth peer name big1"));
	ASSERT_TRUE(must(ns().exec() + "ip link set big0 up"));
	ASSERT_TRUE(must(ns().exec() + "ip link set big1 up"));
	NetNs other;
	add_veth("x0", "x1", &other); // x0: only in the other namespace
	ASSERT_TRUE(must("ip -n " + ns().name() + " link set x0 netns " + other.name()));
	sh(ns().exec() + "ethtool -K d1 gro off");

	ASSERT_EQ(xdpctl("load xdp_redirect a0 c0 big0").rc, 0);
	ASSERT_EQ(xdpctl("redirect add a0 b0").rc, 0) << "the rule every row starts from";

	struct Row {
		const char *what;
		std::string args;
		const char *says;
	};
	std::vector<Row> rows = {
		{"rule to another port for the same ingress", "redirect add a0 c0",
		 "already has an entry in tx_port (-> b0); remove it first or use --replace"},
		{"devmap full (no slot for the ingress ifindex)", "redirect add big0 b0", "tx_port"},
		// the egress program instance loaded for b0 goes with the rest: nothing pinned
		{"devmap full, with an egress program and action", "redirect add big0 b0 --egress xdp_egress --egress-mac",
		 "tx_port"},
		{"egress MAC action for a program without port_cfg",
		 "redirect add c0 b0 --egress " + kObjDir + "/loader_devmap_test.bpf.o --egress-prog test_egress --egress-mac",
		 "has no port_cfg"},
		{"egress device in another namespace", "redirect add c0 x0", "x0: not found in this network namespace"},
		{"ingress device in another namespace", "redirect add x0 b0", "x0: not found in this network namespace"},
		{"target not ready, --ready refuse", "redirect add c0 d0 --ready refuse", "has neither an XDP program nor GRO"},
		{"broadcast without a broadcast program", "broadcast add a0", "no program using it is loaded"},
	};
	auto devmaps = [&] { return nlohmann::json::parse(xdpctl("status -j").out).at("devmaps"); };
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		auto maps_before = devmaps();
		auto pins_before = tree(fs_->root());
		auto res = xdpctl(r.args);
		EXPECT_EQ(res.rc, 1) << "exit code; " << res.err;
		EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_EQ(devmaps(), maps_before) << "no devmap entry added, changed or removed";
		EXPECT_EQ(tree(fs_->root()), pins_before) << "no pin added or removed";
		auto rd = xdpctl::redirect_target_readiness(d.ifindex);
		ASSERT_TRUE(rd);
		EXPECT_FALSE(rd->peer_gro) << "d1's GRO untouched";
	}

	// one call, two rules, the second with no slot: the first one's write is undone
	auto two = xdpctl::redirect_add({{"c0", "b0", {}}, {"big0", "b0", {}}});
	ASSERT_FALSE(two) << "refused";
	auto st = xdpctl::status();
	ASSERT_TRUE(st);
	for (const auto &m : st->devmaps)
		EXPECT_EQ(m.entries.size(), 1u) << m.name << ": only a0 -> b0, c0's entry was rolled back";
}
