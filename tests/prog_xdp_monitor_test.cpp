// xdp_monitor (bpf/xdp_monitor.bpf.c) through xdpctl::Monitor: each xdp: tracepoint is made to
// fire on purpose in a test namespace by tests/progs/monitor_trigger.bpf.c, and the counts must
// be exact. The monitor is filtered to the test namespace, so other tests running at the same
// time in their own namespaces cannot change what it sees (the last suite proves that filter).
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <bpf/btf.h>

#include <chrono>
#include <string_view>
#include <thread>

#include "monitor_trigger.skel.h"
#include "netns.hpp"
#include "xdp_attach.hpp"
#include "prog_run.hpp"
#include "xdp_pass.skel.h"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/monitor.hpp"
#include "xdpctl/skeleton.hpp"

using namespace xt;
using namespace std::chrono_literals;

namespace xdpctl
{
// Readable failures for EXPECT_EQ on counts.
void PrintTo(const MonException &e, std::ostream *os)
{
	*os << "{if " << e.ifindex << ", action " << e.action << ": " << e.count << "}";
}
void PrintTo(const MonRedirectError &e, std::ostream *os)
{
	*os << "{if " << e.ifindex << ", errno " << e.err << ": " << e.count << "}";
}
void PrintTo(const MonXmit &x, std::ostream *os)
{
	*os << "{" << x.from_ifindex << "->" << x.to_ifindex << ": sent " << x.sent << ", drops " << x.drops
	    << ", errors " << x.errors << "}";
}
} // namespace xdpctl

namespace
{

constexpr uint32_t kFrames = 8; // < DEV_MAP_BULK_SIZE (16): one devmap flush per test run

uint64_t netns_ino_of(const NetNs &ns)
{
	struct stat st {
	};
	if (stat(("/run/netns/" + ns.name()).c_str(), &st))
		return 0;
	return st.st_ino;
}

// Polls until done() or the limit: the wait for an asynchronous event (NAPI), not an assertion.
template <class F> bool wait_for(F done, std::chrono::milliseconds limit = 5s)
{
	auto end = std::chrono::steady_clock::now() + limit;
	while (!done()) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		std::this_thread::sleep_for(5ms);
	}
	return true;
}

// Transmits frame n times from ifname with AF_PACKET; returns how many were sent.
uint32_t send_frames(const std::string &ifname, const Bytes &frame, uint32_t n)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	struct sockaddr_ll to {
	};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = ifindex_of(ifname);
	to.sll_halen = 6;
	uint32_t sent = 0;
	for (uint32_t i = 0; i < n; i++)
		if (sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) ==
		    static_cast<ssize_t>(frame.size()))
			sent++;
	close(s);
	return sent;
}

class XdpMonitor : public NetnsTest
{
protected:
	// A monitor counting only the test namespace.
	std::optional<xdpctl::Monitor> monitor()
	{
		auto l = xdpctl::current_layout();
		EXPECT_TRUE(l) << "own netns inode";
		if (!l)
			return std::nullopt;
		EXPECT_EQ(l->netns, netns_ino_of(ns())) << "thread is in the test namespace";
		auto m = xdpctl::Monitor::start(l->netns);
		EXPECT_TRUE(m) << "start monitor: " << (m ? "" : m.error().message());
		if (!m)
			return std::nullopt;
		return std::move(*m);
	}

	static xdpctl::MonitorCounts counts(const xdpctl::Monitor &m)
	{
		auto c = m.read();
		EXPECT_TRUE(c) << "read monitor maps: " << (c ? "" : c.error().message());
		return c ? *c : xdpctl::MonitorCounts{};
	}

	// monitor_trigger with its rodata set, loaded.
	static xdpctl::Skel<monitor_trigger> trigger(uint32_t verdict, uint32_t target_ifindex = 0)
	{
		auto s = xdpctl::open_skel<monitor_trigger>("monitor_trigger");
		EXPECT_TRUE(s) << "open monitor_trigger";
		if (!s)
			return nullptr;
		(*s)->rodata->verdict = verdict;
		(*s)->rodata->target_ifindex = target_ifindex;
		auto st = xdpctl::load_skel(*s, "monitor_trigger");
		EXPECT_TRUE(st) << "load monitor_trigger: " << (st ? "" : st.error().message());
		if (!st)
			return nullptr;
		return std::move(*s);
	}
};

} // namespace

TEST_F(XdpMonitor, AttachesTheTracepointsThisKernelHas)
{
	auto m = monitor();
	ASSERT_TRUE(m);
	const auto &tps = m->tracepoints();
	for (const char *tp : {"xdp_exception", "xdp_redirect_err", "xdp_devmap_xmit"})
		EXPECT_NE(std::find(tps.begin(), tps.end(), tp), tps.end()) << "attached to " << tp;
	// 6.18 removed xdp_redirect_map_err (what Debian's xdp-tools 1.3.1 fails to load on):
	// attached exactly when the kernel has it.
	bool kernel_has = libbpf_find_vmlinux_btf_id("xdp_redirect_map_err", BPF_TRACE_RAW_TP) > 0;
	bool attached = std::find(tps.begin(), tps.end(), "xdp_redirect_map_err") != tps.end();
	EXPECT_EQ(attached, kernel_has) << "xdp_redirect_map_err attached iff the kernel has it";
	auto c = counts(*m);
	EXPECT_TRUE(c.exceptions.empty() && c.redirect_errors.empty() && c.xmit.empty())
	    << "a fresh namespace has no events";
}

// Native XDP on a veth: the driver fires xdp:xdp_exception for XDP_ABORTED and for a verdict
// that is not an XDP action, and for nothing else.
TEST_F(XdpMonitor, ExceptionsCountedByIfindexAndAction)
{
	struct Row {
		const char *what;
		uint32_t verdict;
		uint64_t exceptions; // expected for {ifindex, verdict}
	};
	const Row rows[] = {
	    {"XDP_ABORTED is an exception", XDP_ABORTED, kFrames},
	    {"invalid verdict 7 is an exception, counted under 7", 7, kFrames},
	    {"XDP_DROP is not", XDP_DROP, 0},
	    {"XDP_PASS is not", XDP_PASS, 0},
	};
	auto m = monitor();
	ASSERT_TRUE(m);
	int n = 0;
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		std::string name = "mx" + std::to_string(n), peer = "my" + std::to_string(n);
		n++;
		auto v = add_veth(name, peer);
		ASSERT_GT(v.ifindex, 0) << "veth";
		auto t = trigger(row.verdict);
		ASSERT_TRUE(t);
		ASSERT_EQ(bpf_xdp_attach(v.ifindex, bpf_program__fd(t->progs.monitor_verdict),
					 XDP_FLAGS_DRV_MODE, nullptr),
			  0)
		    << "native attach on " << name;

		auto frame = Packet().eth(v.mac, v.peer_mac).payload(50).build();
		ASSERT_EQ(send_frames(peer, frame, kFrames), kFrames) << "frames sent from the peer";

		if (row.exceptions) {
			wait_for([&] {
				return counts(*m).exceptions_of(v.ifindex, row.verdict) >= row.exceptions;
			});
		} else {
			// the program's own counters say when every frame was seen
			ASSERT_TRUE(wait_for([&] {
				return read_action_stats(t->maps.xdpctl_stats)[row.verdict].packets >=
				       kFrames;
			})) << "program saw every frame";
		}
		auto c = counts(*m);
		EXPECT_EQ(c.exceptions_of(v.ifindex, row.verdict), row.exceptions)
		    << "exceptions on " << name;
		EXPECT_TRUE(c.redirect_errors.empty()) << "no redirect errors";
		EXPECT_TRUE(c.xmit.empty()) << "no devmap transmits";
		bpf_xdp_detach(v.ifindex, XDP_FLAGS_DRV_MODE, nullptr);
	}
	auto c = counts(*m);
	for (const auto &e : c.exceptions)
		EXPECT_TRUE(e.action == XDP_ABORTED || e.action == 7)
		    << "only exceptions are counted, got " << e.action;
	EXPECT_EQ(c.exceptions.size(), 2u) << "one key per aborting veth";
}

// bpf_redirect() that fails at once fires xdp:xdp_redirect_err with the errno, keyed by the
// device the program ran on (the test run's ingress_ifindex).
TEST_F(XdpMonitor, RedirectErrorsCountedByErrno)
{
	auto v = add_veth("re0", "re1");
	ASSERT_GT(v.ifindex, 0) << "veth";
	struct Row {
		const char *what;
		uint32_t target;
		uint32_t err;
	};
	const Row rows[] = {
	    {"ifindex that does not exist", 4242, EINVAL},
	    {"loopback: no ndo_xdp_xmit", 1, EOPNOTSUPP},
	};
	auto m = monitor();
	ASSERT_TRUE(m);
	auto pkt = Packet().eth(kMacB, kMacA).payload(50).build();
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		auto t = trigger(XDP_PASS, row.target);
		ASSERT_TRUE(t);
		auto before = counts(*m).redirect_errors_of(v.ifindex, row.err);
		auto r = run_xdp(
		    t->progs.monitor_redirect_ifindex, pkt,
		    {.ingress_ifindex = static_cast<uint32_t>(v.ifindex), .repeat = kFrames, .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";
		// the tracepoint fires inside the test run: no waiting
		EXPECT_EQ(counts(*m).redirect_errors_of(v.ifindex, row.err) - before, kFrames)
		    << "redirect errors with errno " << row.err;
	}
	auto c = counts(*m);
	EXPECT_EQ(c.redirect_errors, (std::vector<xdpctl::MonRedirectError>{
					 {static_cast<uint32_t>(v.ifindex), EINVAL, kFrames},
					 {static_cast<uint32_t>(v.ifindex), EOPNOTSUPP, kFrames}}))
	    << "nothing else counted";
	EXPECT_TRUE(c.exceptions.empty()) << "no exceptions";
	EXPECT_TRUE(c.xmit.empty()) << "nothing reached a bulk queue";
}

// Since 6.3 a device advertises what it can do in net_device.xdp_features, and veth advertises
// ndo_xdp_xmit only while its peer is ready; before, the enqueue succeeded and the transmit failed.
bool kernel_has_xdp_features()
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	bool found = false;
	int id = btf__find_by_name_kind(btf, "net_device", BTF_KIND_STRUCT);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_member *mem = btf_members(t);
		for (int i = 0; i < btf_vlen(t) && !found; i++)
			found = std::string_view(btf__name_by_offset(btf, mem[i].name_off)) == "xdp_features";
	}
	btf__free(btf);
	return found;
}

// Redirects through a devmap into a veth fire xdp:xdp_devmap_xmit once per bulk-queue flush
// (kFrames < 16: one flush per test run), counting what the veth took and what it dropped.
TEST_F(XdpMonitor, DevmapXmitCountsSentAndDroppedPerDevicePair)
{
	enum class Peer { Bare, Xdp, Gro, XdpSmallMtu };
	struct Row {
		const char *what;
		Peer peer;
		uint64_t sent, drops, errors; // for {ingress, egress veth}
		uint64_t redirect_errors;     // EOPNOTSUPP on the ingress veth
	};
	const bool features = kernel_has_xdp_features();
	const Row rows[] = {
	    features ? Row{"peer without XDP or GRO: not a redirect target (6.3+: refused at enqueue)",
			   Peer::Bare, 0, 0, 0, kFrames}
		     : Row{"peer without XDP or GRO: ndo_xdp_xmit fails (ENXIO), all dropped", Peer::Bare, 0,
			   kFrames, 1, 0},
	    {"peer runs xdp_pass: all sent", Peer::Xdp, kFrames, 0, 0, 0},
	    {"peer has GRO on: all sent", Peer::Gro, kFrames, 0, 0, 0},
	    {"peer ready, but its MTU is below the frame: all dropped, no error", Peer::XdpSmallMtu, 0,
	     kFrames, 0, 0},
	};
	auto in = add_veth("in0", "in1");
	ASSERT_GT(in.ifindex, 0) << "ingress veth";
	auto m = monitor();
	ASSERT_TRUE(m);
	auto pkt = Packet().eth(kMacB, kMacA).payload(186).build(); // 200 bytes
	int n = 0;
	uint64_t xmit_keys = 0;
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		std::string name = "dx" + std::to_string(n), peer = "dy" + std::to_string(n);
		n++;
		auto out = add_veth(name, peer);
		ASSERT_GT(out.ifindex, 0) << "egress veth";
		xdpctl::Skel<xdp_pass> pass;
		if (row.peer == Peer::Xdp || row.peer == Peer::XdpSmallMtu) {
			auto p = xdpctl::open_and_load_skel<xdp_pass>("xdp_pass");
			ASSERT_TRUE(p) << "load xdp_pass";
			pass = std::move(*p);
			ASSERT_EQ(bpf_xdp_attach(out.peer_ifindex, bpf_program__fd(pass->progs.xdp_pass_prog),
						 XDP_FLAGS_DRV_MODE, nullptr),
				  0)
			    << "xdp_pass on " << peer;
		}
		if (row.peer == Peer::Gro) {
			ASSERT_TRUE(set_gro(peer, true)) << "gro on " << peer;
		}
		if (row.peer == Peer::XdpSmallMtu) { // veth checks the frame against the peer's MTU
			ASSERT_TRUE(must("ip link set " + peer + " mtu 100")) << "mtu of " << peer;
		}

		auto t = trigger(XDP_PASS);
		ASSERT_TRUE(t);
		struct bpf_devmap_val val {
		};
		val.ifindex = static_cast<uint32_t>(out.ifindex);
		uint32_t key = 0;
		ASSERT_EQ(bpf_map__update_elem(t->maps.tx_port, &key, sizeof(key), &val, sizeof(val), 0), 0)
		    << "devmap entry";

		auto before = counts(*m).redirect_errors_of(in.ifindex, EOPNOTSUPP);
		auto r = run_xdp(
		    t->progs.monitor_redirect_devmap, pkt,
		    {.ingress_ifindex = static_cast<uint32_t>(in.ifindex), .repeat = kFrames, .live = true});
		ASSERT_EQ(r.err, 0) << "live test run";
		// the flush at the end of the test run's batch fires the tracepoint: no waiting
		auto c = counts(*m);
		auto from = static_cast<uint32_t>(in.ifindex), to = static_cast<uint32_t>(out.ifindex);
		xdpctl::MonXmit want{from, to, row.sent, row.drops, row.errors};
		EXPECT_EQ(c.xmit_of(from, to), want) << "xmit " << in.name << "->" << name;
		EXPECT_EQ(c.redirect_errors_of(from, EOPNOTSUPP) - before, row.redirect_errors)
		    << "redirect errors on " << in.name;
		if (row.sent || row.drops || row.errors)
			xmit_keys++;
		if (pass)
			bpf_xdp_detach(out.peer_ifindex, XDP_FLAGS_DRV_MODE, nullptr);
	}
	auto c = counts(*m);
	EXPECT_EQ(c.xmit.size(), xmit_keys) << "one key per device pair that saw a flush";
	EXPECT_TRUE(c.exceptions.empty()) << "no exceptions";
}

// The same event in another namespace is invisible to a monitor filtered to this one, and seen
// by one filtered to the other (so the event really happened) and by an unfiltered one.
TEST_F(XdpMonitor, EventsOfAnotherNamespaceAreNotCounted)
{
	NetNs other;
	auto mine = monitor();
	ASSERT_TRUE(mine);
	auto theirs = xdpctl::Monitor::start(netns_ino_of(other));
	ASSERT_TRUE(theirs) << "monitor of the other namespace: " << theirs.error().message();
	auto all = xdpctl::Monitor::start(0);
	ASSERT_TRUE(all) << "unfiltered monitor: " << all.error().message();

	auto t = trigger(XDP_PASS, 4242);
	ASSERT_TRUE(t);
	auto pkt = Packet().eth(kMacB, kMacA).payload(50).build();
	// no ingress_ifindex: the test run's device is the loopback (ifindex 1) of the calling
	// thread's namespace, the same ifindex in both: only the namespace tells them apart
	auto fire = [&](uint32_t times) {
		auto r = run_xdp(t->progs.monitor_redirect_ifindex, pkt, {.repeat = times, .live = true});
		EXPECT_EQ(r.err, 0) << "live test run";
	};

	struct Row {
		const char *what;
		bool in_other;
		uint32_t times;
		uint64_t mine, theirs; // running totals for {lo, EINVAL}
	};
	const Row rows[] = {
	    {"event in the other namespace", true, 3, 0, 3},
	    {"event in the test namespace", false, 5, 5, 3},
	};
	for (const auto &row : rows) {
		SCOPED_TRACE(row.what);
		if (row.in_other) {
			other.enter();
			fire(row.times);
			other.leave();
		} else {
			fire(row.times);
		}
		EXPECT_EQ(counts(*mine).redirect_errors_of(1, EINVAL), row.mine)
		    << "monitor of the test namespace";
		EXPECT_EQ(counts(*theirs).redirect_errors_of(1, EINVAL), row.theirs)
		    << "monitor of the other namespace";
	}
	EXPECT_EQ(counts(*mine).redirect_errors.size(), 1u) << "test namespace: one key";
	EXPECT_EQ(counts(*theirs).redirect_errors.size(), 1u) << "other namespace: one key";
	// other engineers' tests may add to the unfiltered one, never take away
	EXPECT_GE(counts(*all).redirect_errors_of(1, EINVAL), 8u) << "unfiltered monitor sees both";
}
