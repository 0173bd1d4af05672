// Device-bound metadata program: bpf/xdp_meta_kfunc (RX metadata kfuncs, device-bound) against
// base_meta_kfunc (tests/bench/bench_devbound.bpf.c: the same flow hash, kfunc calls and
// data_meta store, no counters, no mark lookup), with live traffic through a veth:
//
//   netns gen: g0 --veth-- d0 (netns dut, program under test bound to d0, native)
//
// Only where device-bound teardown is safe to try: the kernel lane's guest (make bench runs this
// section there, tests/bench/run.sh) or a host with XDPCTL_DEVBOUND_LIVE=1. On this project's
// 6.18.44 host, removing a device while a program bound to it was alive oopsed the kernel and
// left RTNL held (tests/harness/kernel.hpp), so xdpctl_bench refuses the section otherwise.
//
// BPF_PROG_TEST_RUN, plain and with live frames, is tried first on the bound program, next to
// an unbound control with the same arguments, and what the kernel answers is recorded in the
// JSON (extra.prog_test_run). Debian's 6.12 answers EINVAL to the bound program both ways and
// accepts the control, so the figures come from live traffic. They would anyway: the bound
// program calls the driver's (veth's) kfuncs, which read veth's own context around the
// xdp_buff, and a test run does not build one.
//
// Two figures, both "processed Mpps" (frames d0's XDP program ran on, veth's
// rx_queue_*_xdp_packets, over the generator's wall time; ours / baseline per round):
//   xdp_frames       the generator runs bench_base's base_gen (XDP_TX) through
//                    BPF_PROG_TEST_RUN with live frames on g0, as the live pipeline does: frames
//                    reach d0 as xdp_frames (ndo_xdp_xmit), which carry no skb, so veth's three
//                    kfuncs answer -ENODATA at once (counted, not assumed: extra.kfuncs)
//   skbs             the generator sends the same frame through an AF_PACKET socket (qdisc
//                    bypassed): frames reach d0 as skbs, and the kfuncs read them (rx_hash is
//                    skb_get_hash(), which dissects the flow; rx_timestamp the skb's hardware
//                    stamp; rx_vlan_tag -ENODATA for an untagged frame)
// Ours and the baseline swap on d0 through bpf_link_update between samples; our counters must
// have seen every frame d0 processed (per action, meta_counters and per kfunc), or the run
// fails. Teardown: detach, close every fd, then remove the devices (destruction order below).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include "bench.hpp"
#include "bench_base.skel.h"
#include "bench_devbound.skel.h"
#include "ethtool_stats.hpp"
#include "meta_ref.hpp"
#include "netns.hpp"
#include "packet.hpp"
#include "prog_run.hpp"
#include "xdp_attach.hpp"
#include "xdp_meta_kfunc.skel.h"
#include "xdpctl/fd.hpp"
#include "xdpctl/meta.hpp"
#include "xdpctl/skeleton.hpp"

namespace bench {

bool devbound_allowed()
{
	const char *on = getenv("XDPCTL_DEVBOUND_LIVE");
	return on && std::string(on) == "1";
}

namespace {

void must_sh(const std::string &cmd)
{
	std::string o;
	if (xt::sh(cmd, &o))
		throw std::runtime_error(cmd + ": " + o);
}

std::string errno_name(int err)
{
	if (!err)
		return "accepted";
	const char *n = strerrorname_np(err);
	return n ? n : std::to_string(err); // 524: the kernel's ENOTSUPP, unknown to libc
}

// Runs fn on a thread of its own inside netns `ns`, pinned to CPU 0 (the same CPU for ours and
// the baseline); rethrows what it threw.
void in_netns_thread(const xt::NetNs &ns, const std::function<void()> &fn)
{
	std::string err;
	std::thread t([&] {
		try {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(0, &one);
			sched_setaffinity(0, sizeof(one), &one);
			if (!xt::join_netns(ns))
				throw std::runtime_error("setns " + ns.name() + ": " + strerror(errno));
			fn();
		} catch (const std::exception &e) {
			err = e.what();
		}
	});
	t.join();
	if (!err.empty())
		throw std::runtime_error(err);
}

// Sends n copies of pkt out of ifname (calling thread's namespace) through an AF_PACKET socket
// that bypasses the qdisc; returns how many the kernel took (a full ring refuses with ENOBUFS,
// which is retried).
uint64_t packet_send(const std::string &ifname, const xt::Bytes &pkt, uint64_t n)
{
	xdpctl::Fd s(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)); // protocol 0: sends only
	int one = 1;
	struct sockaddr_ll sll {};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
	if (!s || setsockopt(s.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    bind(s.get(), reinterpret_cast<sockaddr *>(&sll), sizeof(sll)))
		throw std::runtime_error("AF_PACKET socket on " + ifname + ": " + strerror(errno));
	struct iovec iov {const_cast<uint8_t *>(pkt.data()), pkt.size()};
	std::vector<struct mmsghdr> msgs(256);
	for (auto &m : msgs) {
		m.msg_hdr.msg_iov = &iov;
		m.msg_hdr.msg_iovlen = 1;
	}
	uint64_t sent = 0;
	int refused = 0;
	while (sent < n) {
		int k = sendmmsg(s.get(), msgs.data(), static_cast<unsigned>(std::min<uint64_t>(msgs.size(), n - sent)), 0);
		if (k < 0) {
			if ((errno == ENOBUFS || errno == EAGAIN) && ++refused < 1000000)
				continue;
			throw std::runtime_error("sendmmsg on " + ifname + ": " + strerror(errno));
		}
		sent += static_cast<uint64_t>(k);
	}
	return sent;
}

// Our program's own counters, summed over CPUs.
struct OurCounts {
	uint64_t pass = 0, written = 0; // written: XDP_PASS - NO_ROOM (include/xdpctl/meta_progs.h)
	struct xdpctl_kfunc_counters k[XDPCTL_KFUNC_MAX] {};
};

OurCounts our_counts(xdp_meta_kfunc *s)
{
	OurCounts c;
	c.pass = xt::read_action_stats(s->maps.xdpctl_stats)[XDP_PASS].packets;
	c.written = c.pass - xt::percpu_u64(bpf_map__fd(s->maps.meta_counters), XDPCTL_METACNT_NO_ROOM);
	for (uint32_t i = 0; i < XDPCTL_KFUNC_MAX; i++)
		c.k[i] = xt::kfunc_counters(bpf_map__fd(s->maps.kfunc_counters), i);
	return c;
}

const char *const kKfuncNames[XDPCTL_KFUNC_MAX] = {"rx_hash", "rx_timestamp", "rx_vlan_tag"};

// What BPF_PROG_TEST_RUN does with a device-bound program, plain and with live frames: the
// kernel's answer, and when it accepts, what the program left in data_meta (plain) and what its
// kfunc counters saw. The same two runs of an unbound program (control_fd) with the same frame
// and ingress device show that an answer is about the binding and not the run's arguments.
nlohmann::json probe_test_run(xdp_meta_kfunc *s, int control_fd, uint32_t ifindex, const xt::Bytes &pkt)
{
	nlohmann::json j = {{"program", "xdp_meta_kfunc bound to d0"}, {"unbound_control", {{"program", "bench_base's base_pass"}}}};
	for (bool live : {false, true}) {
		auto ctl = xt::run_xdp(control_fd, pkt, {.ingress_ifindex = ifindex, .repeat = 1, .live = live});
		j["unbound_control"][live ? "live_frames" : "plain"] = {{"errno", -ctl.err}, {"answer", errno_name(-ctl.err)}};
	}
	for (bool live : {false, true}) {
		auto before = our_counts(s);
		auto r = xt::run_xdp(bpf_program__fd(s->progs.xdp_meta_kfunc), pkt,
				     {.ingress_ifindex = ifindex, .repeat = 1, .live = live});
		auto after = our_counts(s);
		nlohmann::json p = {{"errno", -r.err}, {"answer", errno_name(-r.err)}};
		if (!r.err) {
			if (!live)
				p["retval"] = r.retval;
			if (r.meta.size() == sizeof(struct xdpctl_meta)) {
				struct xdpctl_meta m;
				memcpy(&m, r.meta.data(), sizeof(m));
				p["data_meta"] = xt::describe(m);
			}
			for (uint32_t i = 0; i < XDPCTL_KFUNC_MAX; i++)
				p["kfuncs"][kKfuncNames[i]] = {{"ok", after.k[i].ok - before.k[i].ok},
							       {"refused", after.k[i].refused - before.k[i].refused},
							       {"nodata", after.k[i].nodata - before.k[i].nodata},
							       {"other", after.k[i].other - before.k[i].other}};
		}
		j[live ? "live_frames" : "plain"] = p;
	}
	return j;
}

} // namespace

void devbound(const Config &c, std::vector<Figure> &out)
{
	if (!devbound_allowed())
		throw std::runtime_error("devbound: needs XDPCTL_DEVBOUND_LIVE=1 (the kernel lane sets it)");
	struct utsname u {};
	uname(&u);
	const char *lane = getenv("XDPCTL_LANE");
	const std::string where = lane && *lane ? "measured in the kernel lane's guest: Debian " + std::string(u.release) +
							  " under qemu TCG (no KVM), so times are emulated and only the "
							  "ratio compares with the host figures"
						: "measured on this machine's kernel " + std::string(u.release);

	// Destruction runs bottom-up: links (detach), then skeletons (close every fd), then the
	// namespaces (remove the devices), also when a step throws.
	xt::NetNs::reap_stale();
	xt::NetNs gen, dut;
	must_sh("ip -n " + gen.name() + " link add g0 type veth peer name d0 netns " + dut.name());
	must_sh(gen.exec() + "ip link set g0 up");
	must_sh(dut.exec() + "ip link set d0 up");

	dut.enter();
	const uint32_t d0 = if_nametoindex("d0");
	auto kf = xdpctl::probe_meta_kfuncs();
	if (!kf)
		throw std::runtime_error("devbound: " + kf.error().message());
	auto ours = load_skel_or_throw<xdp_meta_kfunc>("xdp_meta_kfunc", [&](xdp_meta_kfunc *s) {
		s->rodata->has_rx_hash = kf->rx_hash;
		s->rodata->has_rx_timestamp = kf->rx_timestamp;
		s->rodata->has_rx_vlan_tag = kf->rx_vlan_tag;
		if (auto st = xdpctl::bind_to_device(s->progs.xdp_meta_kfunc, static_cast<int>(d0)); !st)
			throw std::runtime_error(st.error().message());
	});
	auto base = load_skel_or_throw<bench_devbound>("bench_devbound", [&](bench_devbound *s) {
		s->rodata->has_rx_hash = kf->rx_hash;
		s->rodata->has_rx_timestamp = kf->rx_timestamp;
		s->rodata->has_rx_vlan_tag = kf->rx_vlan_tag;
		if (auto st = xdpctl::bind_to_device(s->progs.base_meta_kfunc, static_cast<int>(d0)); !st)
			throw std::runtime_error(st.error().message());
	});
	auto genp = load_skel_or_throw<bench_base>("bench_base");
	const int ours_fd = bpf_program__fd(ours->progs.xdp_meta_kfunc);
	const int base_fd = bpf_program__fd(base->progs.base_meta_kfunc);
	const int gen_fd = bpf_program__fd(genp->progs.base_gen);

	// 64 bytes on the wire: 60 plus the FCS the NIC would add.
	auto pkt = xt::Packet().eth(xt::kMacB, xt::kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).pad_to(60).build();
	nlohmann::json test_run = probe_test_run(ours.get(), bpf_program__fd(genp->progs.base_pass), d0, pkt);
	test_run["kernel"] = u.release;

	auto link = xt::XdpLink::attach(ours_fd, static_cast<int>(d0), XDP_FLAGS_DRV_MODE);
	if (!link)
		throw std::runtime_error("attach xdp_meta_kfunc to d0: " + link.error().message());

	struct Path {
		const char *name, *generator;
		std::function<uint64_t(uint64_t)> send; // sends n frames from netns gen, returns sent
	};
	const Path paths[] = {
		{"device-bound meta, xdp_frames",
		 "bench_base's base_gen (XDP_TX) through BPF_PROG_TEST_RUN with live frames on g0: frames reach d0 "
		 "as xdp_frames, without an skb",
		 [&](uint64_t n) {
			 uint32_t g0 = if_nametoindex("g0");
			 auto r = xt::run_xdp(gen_fd, pkt, {.ingress_ifindex = g0, .repeat = static_cast<uint32_t>(n), .live = true});
			 if (r.err)
				 throw std::runtime_error("generator BPF_PROG_TEST_RUN on g0: " + std::string(strerror(-r.err)));
			 return n;
		 }},
		{"device-bound meta, skbs",
		 "an AF_PACKET socket on g0 (PACKET_QDISC_BYPASS, sendmmsg): frames reach d0 as skbs, which the "
		 "kfuncs read",
		 [&](uint64_t n) { return packet_send("g0", pkt, n); }},
	};

	// One sample: the program swapped onto d0, n frames sent, processed Mpps over the
	// generator's wall time. Frames still in d0's ring when the generator returns are counted
	// once the ring is empty (at most a ring's worth, untimed).
	struct Sample {
		double mpps;
		uint64_t sent, processed, drops;
	};
	auto run = [&](const Path &p, int prog_fd, uint64_t n) -> Sample {
		if (bpf_link_update(link->fd(), prog_fd, nullptr))
			throw std::runtime_error("bpf_link_update on d0: " + std::string(strerror(errno)));
		auto st0 = xt::ethtool_stats("d0");
		uint64_t sent = 0;
		double secs = 0;
		in_netns_thread(gen, [&] {
			double t0 = now_ns();
			sent = p.send(n);
			secs = (now_ns() - t0) / 1e9;
		});
		uint64_t processed = 0, last = ~0ull;
		for (int i = 0; i < 100; i++) {
			processed = xt::rx_queue_sum(xt::ethtool_stats("d0"), "xdp_packets") - xt::rx_queue_sum(st0, "xdp_packets");
			if (processed >= sent || processed == last)
				break;
			last = processed;
			usleep(10000);
		}
		uint64_t drops = xt::rx_queue_sum(xt::ethtool_stats("d0"), "xdp_drops") - xt::rx_queue_sum(st0, "xdp_drops");
		return {static_cast<double>(processed) / secs / 1e6, sent, processed, drops};
	};

	for (const auto &p : paths) {
		// warm-up, then calibration on ours: a sample of about 500 ms (the guest's clock is
		// noisy under TCG on a shared machine; longer samples average it out)
		run(p, base_fd, c.smoke ? 64 : 4096);
		auto w = run(p, ours_fd, c.smoke ? 64 : 16384);
		uint64_t n = c.smoke ? 256 : std::clamp<uint64_t>(static_cast<uint64_t>(w.mpps * 1e6 * 0.5) / 64 * 64, 4096, 4u << 20);

		Figure f{.group = "devbound", .name = p.name, .unit = "Mpps"};
		f.higher_is_better = true;
		f.how = "veth g0 (netns gen) -> d0 (netns dut), the program bound to d0 (BPF_F_XDP_DEV_BOUND_ONLY) and "
			"attached natively, XDP_PASS; 64-byte UDP/IPv4 frames, " +
			std::to_string(n) + " per sample from 1 generator thread: " + p.generator +
			"; Mpps = frames d0's program ran on (veth rx_queue_*_xdp_packets) over the generator's wall "
			"time; ours and the baseline swapped on d0 with bpf_link_update; " +
			where;
		f.ours.what = "xdp_meta_kfunc: flow hash, mark lookup, 3 RX metadata kfuncs, data_meta, counters";
		f.baseline.what = "base_meta_kfunc: same flow hash, 3 kfuncs and data_meta store; no mark lookup, no counters";

		auto c0 = our_counts(ours.get());
		uint64_t ours_processed = 0, sent_total = 0, processed_total = 0, drops_total = 0;
		interleave(
			c.rounds, f,
			[&] {
				auto s = run(p, ours_fd, n);
				ours_processed += s.processed;
				sent_total += s.sent;
				processed_total += s.processed;
				drops_total += s.drops;
				return s.mpps;
			},
			[&] {
				auto s = run(p, base_fd, n);
				sent_total += s.sent;
				processed_total += s.processed;
				drops_total += s.drops;
				return s.mpps;
			});
		auto c1 = our_counts(ours.get());

		// Proof that ours ran on every frame d0 processed while it was attached, and what the
		// kfuncs answered.
		f.extra["frames_sent"] = sent_total;
		f.extra["frames_processed"] = processed_total;
		f.extra["xdp_drops"] = drops_total;
		f.extra["ours_frames_processed"] = ours_processed;
		f.extra["ours_counted_pass"] = c1.pass - c0.pass;
		f.extra["ours_meta_written"] = c1.written - c0.written;
		for (uint32_t i = 0; i < XDPCTL_KFUNC_MAX; i++)
			f.extra["kfuncs"][kKfuncNames[i]] = {{"ok", c1.k[i].ok - c0.k[i].ok},
							     {"refused", c1.k[i].refused - c0.k[i].refused},
							     {"nodata", c1.k[i].nodata - c0.k[i].nodata},
							     {"other", c1.k[i].other - c0.k[i].other}};
		f.extra["prog_test_run"] = test_run;
		auto fail = [&](const std::string &what, uint64_t got) {
			throw std::runtime_error(std::string(p.name) + ": " + what + " " + std::to_string(got) + " of the " +
						 std::to_string(ours_processed) + " frames d0 processed under xdp_meta_kfunc");
		};
		if (c1.pass - c0.pass != ours_processed)
			fail("xdpctl_stats counted XDP_PASS for", c1.pass - c0.pass);
		if (c1.written - c0.written != ours_processed)
			fail("metadata written (XDP_PASS - NO_ROOM) for", c1.written - c0.written);
		for (uint32_t i = 0; i < XDPCTL_KFUNC_MAX; i++) {
			uint64_t k = c1.k[i].ok + c1.k[i].refused + c1.k[i].nodata + c1.k[i].other -
				     (c0.k[i].ok + c0.k[i].refused + c0.k[i].nodata + c0.k[i].other);
			if (k != ours_processed)
				fail(std::string("kfunc_counters[") + kKfuncNames[i] + "] counted", k);
		}
		out.push_back(std::move(f));
	}
	dut.leave();
}

} // namespace bench
