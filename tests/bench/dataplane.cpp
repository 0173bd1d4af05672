// Data plane: every path of the collection through BPF_PROG_TEST_RUN, ns per frame over a large
// repeat, against the bare baselines of tests/bench/bench_base.bpf.c.
//
// The clock: the kernel's own `duration` is whole nanoseconds per repeat, too coarse for 10 ns
// programs; the wall clock around the syscall counts the time other work on this shared machine
// held the CPU (the test run yields at every need_resched). So the figure is the calling
// thread's CPU time over the whole repeat (CLOCK_THREAD_CPUTIME_ID, ns resolution), which the
// test run's loop is charged to; the wall clock is kept beside it in the results.
//
// Paths that leave the program (tx, redirect, broadcast, egress) and the metadata producer run
// with BPF_F_TEST_XDP_LIVE_FRAMES: frames are reset from the template for every repeat and
// really transmitted through veths whose peers run base_drop (a ready redirect target that
// frees the frame at once). Without live frames, repeat reruns the program on the same buffer
// (a second adjust_meta would find the room taken) and a redirect is only a verdict.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>

#include <algorithm>
#include <deque>
#include <stdexcept>

#include "bench.hpp"
#include "bench_base.skel.h"
#include "netns.hpp"
#include "packet.hpp"
#include "prog_run.hpp"
#include "xdp_attach.hpp"
#include "xdp_broadcast.skel.h"
// the skeleton's rodata port_cfg is a struct xdpctl_egress_port: declared first
#include "xdpctl/egress.h"

#include "xdp_egress.skel.h"
#include "xdp_meta_producer.skel.h"
#include "xdp_pass.skel.h"
#include "xdp_redirect.skel.h"
#include "xdpctl/skeleton.hpp"

namespace bench {
namespace {

constexpr int kGroupPorts = 256; // the largest broadcast group measured

void set_port(bpf_map *m, uint32_t key, uint32_t ifindex, int egress_prog_fd = 0)
{
	struct bpf_devmap_val v {};
	v.ifindex = ifindex;
	v.bpf_prog.fd = egress_prog_fd;
	if (int err = bpf_map__update_elem(m, &key, sizeof(key), &v, sizeof(v), BPF_ANY))
		throw std::runtime_error(std::string("devmap update ") + bpf_map__name(m) + ": " + strerror(-err));
}

void clear_port(bpf_map *m, uint32_t key)
{
	bpf_map__delete_elem(m, &key, sizeof(key), 0);
}

struct Run {
	int prog_fd;
	uint32_t ingress_ifindex;
	bool live;
	uint32_t expect; // verdict (checked when not live: live runs report none)
};

double thread_cpu_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// One sample: CPU ns per frame over `repeat` frames; the wall-clock ns per frame go to *wall.
double sample(const Run &r, const xt::Bytes &pkt, uint32_t repeat, std::vector<double> *wall = nullptr)
{
	xt::XdpRunOpts o{.ingress_ifindex = r.ingress_ifindex, .repeat = repeat, .live = r.live};
	double w0 = now_ns(), t0 = thread_cpu_ns();
	auto res = xt::run_xdp(r.prog_fd, pkt, o);
	double t1 = thread_cpu_ns(), w1 = now_ns();
	if (wall)
		wall->push_back((w1 - w0) / repeat);
	if (res.err)
		throw std::runtime_error("BPF_PROG_TEST_RUN: " + std::string(strerror(-res.err)));
	if (!r.live && res.retval != r.expect)
		throw std::runtime_error("BPF_PROG_TEST_RUN: verdict " + std::to_string(res.retval) + ", expected " +
					 std::to_string(r.expect));
	return (t1 - t0) / repeat;
}

uint64_t action_packets(bpf_map *stats, uint32_t action)
{
	return xt::read_action_stats(stats)[action].packets;
}

} // namespace

void dataplane(const Config &c, std::vector<Figure> &out)
{
	// Ours and the baseline on the same CPU: per-CPU maps, caches and the page pool stay put.
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);

	xt::NetNs::reap_stale();
	xt::NetNs ns;
	ns.enter();
	// in0: where test-run frames arrive (and where XDP_TX sends them back out);
	// out0..out3: redirect and broadcast targets. While a path transmits, every peer drops in
	// XDP: the target is ready and a frame costs nothing after it was transmitted.
	// g0..g255: the broadcast groups' ports (a group of n is g0..g<n-1>), made in one `ip -batch`.
	std::vector<std::string> ports = {"in0", "out0", "out1", "out2", "out3"};
	for (int i = 0; i < kGroupPorts; i++)
		ports.push_back("g" + std::to_string(i));
	{
		std::string batch;
		for (const auto &p : ports)
			batch += "link add " + p + " type veth peer name " + p + "p\nlink set " + p + " up\nlink set " + p + "p up\n";
		std::string o;
		if (xt::sh("printf '" + batch + "' | " + ns.exec() + "ip -batch -", &o))
			throw std::runtime_error("veths: " + o);
	}
	auto base = load_skel_or_throw<bench_base>("bench_base");
	// Attached only while a path transmits: an attached program joins the kernel's XDP
	// dispatcher, whose compare chain then sits in front of ours and the baseline alike but in
	// an order that depends on where each was JITed (measured: pass 0.91-0.93 with the peers'
	// program attached, 0.97-0.99 without).
	std::vector<xt::XdpLink> peer_links;
	auto ready_peers = [&](bool on) {
		if (!on)
			peer_links.clear();
		if (!on || !peer_links.empty())
			return;
		for (const auto &p : ports) {
			auto l = xt::XdpLink::attach(bpf_program__fd(base->progs.base_drop),
						     static_cast<int>(if_nametoindex((p + "p").c_str())));
			if (!l)
				throw std::runtime_error(l.error().message());
			peer_links.push_back(std::move(*l));
		}
	};
	uint32_t in0 = if_nametoindex("in0");
	uint32_t outs[4];
	for (int i = 0; i < 4; i++)
		outs[i] = if_nametoindex(ports[i + 1].c_str());

	auto pass = load_skel_or_throw<xdp_pass>("xdp_pass");
	auto miss_drop = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_DROP; });
	auto miss_tx = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_TX; });
	auto redir = load_skel_or_throw<xdp_redirect>("xdp_redirect");
	// xdp_egress as the loader makes it, one instance per port: out0's without configuration,
	// and with --egress-mac (the port's MAC as every frame's source)
	auto egress = load_skel_or_throw<xdp_egress>("xdp_egress");
	auto egress_mac = load_skel_or_throw<xdp_egress>("xdp_egress", [](xdp_egress *s) {
		s->rodata->port_cfg.set_src_mac = 1;
		s->rodata->port_cfg.src_mac[0] = 0x02;
		s->rodata->port_cfg.src_mac[5] = 0x01;
	});
	auto meta = load_skel_or_throw<xdp_meta_producer>("xdp_meta_producer");

	// 64 bytes on the wire: 60 plus the FCS the NIC would add.
	auto pkt = xt::Packet().eth(xt::kMacB, xt::kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).pad_to(60).build();

	// Repeat per path: what makes a sample about 30 ms of CPU (paths differ 300-fold: a DEVMAP
	// broadcast walks every slot of the array), from a calibration run of ours.
	auto repeat_for = [&](const Run &r) -> uint32_t {
		if (c.smoke)
			return 64;
		double ns = sample(r, pkt, 4096);
		return static_cast<uint32_t>(std::clamp(30e6 / ns, 4096.0, 4194304.0));
	};

	auto fd = [](bpf_program *p) { return bpf_program__fd(p); };
	bpf_map *base_hash = base->maps.tx_port_hash;
	set_port(redir->maps.tx_port, in0, outs[0]);
	set_port(base->maps.tx_port, in0, outs[0]);

	struct Path {
		const char *name, *ours_what, *base_what;
		Run ours, base;
		bpf_map *ours_stats;
		uint32_t ours_action;
		std::function<void()> setup;
	};
	std::vector<Path> paths = {
		{"drop", "xdp_redirect_devmap_hash, miss_action XDP_DROP", "bpf_redirect_map(miss, XDP_DROP)",
		 {fd(miss_drop->progs.xdp_redirect_devmap_hash), in0, false, XDP_DROP},
		 {fd(base->progs.base_miss_drop), in0, false, XDP_DROP}, miss_drop->maps.xdpctl_stats, XDP_DROP,
		 [&] { clear_port(base_hash, in0); }},
		{"pass", "xdp_pass", "return XDP_PASS", {fd(pass->progs.xdp_pass_prog), in0, false, XDP_PASS},
		 {fd(base->progs.base_pass), in0, false, XDP_PASS}, pass->maps.xdpctl_stats, XDP_PASS, {}},
		// the same two on live frames: the counter against a frame's whole cost in the kernel
		// (a dropped frame returns to the page pool, a passed one becomes an skb for the stack)
		{"drop, live frames", "xdp_redirect_devmap_hash, miss_action XDP_DROP", "bpf_redirect_map(miss, XDP_DROP)",
		 {fd(miss_drop->progs.xdp_redirect_devmap_hash), in0, true, XDP_DROP},
		 {fd(base->progs.base_miss_drop), in0, true, XDP_DROP}, miss_drop->maps.xdpctl_stats, XDP_DROP,
		 [&] { clear_port(base_hash, in0); }},
		{"pass, live frames", "xdp_pass", "return XDP_PASS", {fd(pass->progs.xdp_pass_prog), in0, true, XDP_PASS},
		 {fd(base->progs.base_pass), in0, true, XDP_PASS}, pass->maps.xdpctl_stats, XDP_PASS, {}},
		{"tx", "xdp_redirect_devmap_hash, miss_action XDP_TX", "bpf_redirect_map(miss, XDP_TX)",
		 {fd(miss_tx->progs.xdp_redirect_devmap_hash), in0, true, XDP_TX},
		 {fd(base->progs.base_miss_tx), in0, true, XDP_TX}, miss_tx->maps.xdpctl_stats, XDP_TX,
		 [&] { clear_port(base_hash, in0); }},
		{"redirect DEVMAP", "xdp_redirect_devmap", "bpf_redirect_map(DEVMAP)",
		 {fd(redir->progs.xdp_redirect_devmap), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap), in0, true, XDP_REDIRECT}, redir->maps.xdpctl_stats,
		 XDP_REDIRECT, {}},
		{"redirect DEVMAP_HASH", "xdp_redirect_devmap_hash", "bpf_redirect_map(DEVMAP_HASH)",
		 {fd(redir->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap_hash), in0, true, XDP_REDIRECT}, redir->maps.xdpctl_stats,
		 XDP_REDIRECT,
		 [&] {
			 set_port(redir->maps.tx_port_hash, in0, outs[0]);
			 set_port(base_hash, in0, outs[0]);
		 }},
		{"redirect + egress prog", "xdp_redirect_devmap_hash + xdp_egress (port unconfigured)",
		 "bpf_redirect_map(DEVMAP_HASH) + egress `return XDP_PASS`",
		 {fd(redir->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap_hash), in0, true, XDP_REDIRECT}, egress->maps.xdpctl_stats,
		 XDP_PASS,
		 [&] {
			 set_port(redir->maps.tx_port_hash, in0, outs[0], fd(egress->progs.xdp_egress));
			 set_port(base_hash, in0, outs[0], fd(base->progs.base_egress));
		 }},
		{"redirect + egress prog, --egress-mac", "xdp_redirect_devmap_hash + xdp_egress (port_cfg: source MAC)",
		 "bpf_redirect_map(DEVMAP_HASH) + egress writing a fixed source MAC",
		 {fd(redir->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap_hash), in0, true, XDP_REDIRECT}, egress_mac->maps.xdpctl_stats,
		 XDP_PASS,
		 [&] {
			 set_port(redir->maps.tx_port_hash, in0, outs[0], fd(egress_mac->progs.xdp_egress));
			 set_port(base_hash, in0, outs[0], fd(base->progs.base_egress_mac));
		 }},
		// Diagnostic: the baseline egress program updates one per-CPU counter and nothing else,
		// the least any counting egress program does; what is left is the rest of ours.
		{"redirect + egress prog, vs one counter", "xdp_redirect_devmap_hash + xdp_egress (port unconfigured)",
		 "bpf_redirect_map(DEVMAP_HASH) + egress with one per-CPU counter update",
		 {fd(redir->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap_hash), in0, true, XDP_REDIRECT}, egress->maps.xdpctl_stats,
		 XDP_PASS,
		 [&] {
			 set_port(redir->maps.tx_port_hash, in0, outs[0], fd(egress->progs.xdp_egress));
			 set_port(base_hash, in0, outs[0], fd(base->progs.base_egress_count));
		 }},
		{"metadata producer", "xdp_meta_producer", "adjust_meta + same flow hash, no mark, no counters",
		 {fd(meta->progs.xdp_meta_producer), in0, true, XDP_PASS},
		 {fd(base->progs.base_meta), in0, true, XDP_PASS}, meta->maps.xdpctl_stats, XDP_PASS, {}},
		// Diagnostic: the baseline also looks up the mark; what is left is our counters.
		{"metadata producer, vs same lookup", "xdp_meta_producer",
		 "adjust_meta + same flow hash + mark lookup, no counters",
		 {fd(meta->progs.xdp_meta_producer), in0, true, XDP_PASS},
		 {fd(base->progs.base_meta_mark), in0, true, XDP_PASS}, meta->maps.xdpctl_stats, XDP_PASS, {}},
	};

	// Broadcast to groups of 4..256 ports: ours as a user gets it (xdp_broadcast, the group added
	// through xdpctl::group_add, which sizes the devmap behind the map-of-maps slot), against a
	// bare program whose one devmap has exactly the group's size; for 4 ports also against the 32
	// buckets xdp-bench uses.
	std::vector<xdpctl::Skel<xdp_broadcast>> groups_ours;
	std::deque<std::string> texts; // the generated paths' names, kept while the paths are
	auto text = [&](std::string t) { return texts.emplace_back(std::move(t)).c_str(); };
	std::vector<xdpctl::Skel<bench_base>> groups_base;
	struct Group {
		int n;
		uint32_t base_size;
		const char *suffix;
	};
	for (Group g : {Group{4, 4, ""}, Group{4, 32, ", vs 32 slots (xdp-bench)"}, Group{16, 16, ""}, Group{64, 64, ""},
			Group{256, 256, ""}}) {
		std::vector<uint32_t> members;
		for (int i = 0; i < g.n; i++)
			members.push_back(if_nametoindex(("g" + std::to_string(i)).c_str()));
		auto &o = groups_ours.emplace_back(load_skel_or_throw<xdp_broadcast>("xdp_broadcast"));
		fill_group_ours(o->maps.bcast_group, "bcast_ports", members);
		fill_group_ours(o->maps.bcast_group_hash, "bcast_ports_hash", members);
		auto &b = groups_base.emplace_back(load_skel_or_throw<bench_base>("bench_base", [&](bench_base *s) {
			bpf_map__set_max_entries(s->maps.bcast_ports, g.base_size);
			bpf_map__set_max_entries(s->maps.bcast_ports_hash, g.base_size);
		}));
		fill_group_base(b->maps.bcast_ports, members);
		fill_group_base(b->maps.bcast_ports_hash, members);
		uint32_t ours_size = xdpctl::group_devmap_size(members.size());
		for (bool hash : {false, true}) {
			if (g.base_size != static_cast<uint32_t>(g.n) && !hash)
				continue; // xdp-bench's broadcast map is a DEVMAP_HASH
			const char *kind = hash ? "DEVMAP_HASH" : "DEVMAP";
			paths.push_back(Path{
				text("broadcast " + std::to_string(g.n) + " " + kind + g.suffix),
				text("xdp_" + std::string(hash ? "broadcast_devmap_hash" : "broadcast_devmap") + ", group of " +
				     std::to_string(g.n) + " via xdpctl::group_add (" + kind + " of " + std::to_string(ours_size) +
				     " behind the map-of-maps slot)"),
				text("bpf_redirect_map(" + std::string(kind) + " of " + std::to_string(g.base_size) + ", BROADCAST)"),
				{fd(hash ? o->progs.xdp_broadcast_devmap_hash : o->progs.xdp_broadcast_devmap), in0, true,
				 XDP_REDIRECT},
				{fd(hash ? b->progs.base_broadcast_devmap_hash : b->progs.base_broadcast_devmap), in0, true,
				 XDP_REDIRECT},
				o->maps.xdpctl_stats, XDP_REDIRECT, {}});
		}
	}

	for (const auto &p : paths) {
		ready_peers(p.ours.expect == XDP_TX || p.ours.expect == XDP_REDIRECT);
		if (p.setup)
			p.setup();
		sample(p.ours, pkt, 64);
		uint32_t rep = repeat_for(p.ours);
		Figure f;
		f.group = "dataplane";
		f.name = p.name;
		f.unit = "ns/pkt";
		f.how = std::string(p.ours.live ? "BPF_PROG_TEST_RUN live frames" : "BPF_PROG_TEST_RUN") + ", repeat " +
			std::to_string(rep) + ", 60-byte UDP/IPv4 frame, thread CPU time";
		f.ours.what = p.ours_what;
		f.baseline.what = p.base_what;
		// warm-up (and the calibration above): page pool, devmap flush lists, first-frame
		// inserts in per-port maps
		sample(p.base, pkt, 64);
		uint64_t before = action_packets(p.ours_stats, p.ours_action);
		std::vector<double> wall_ours, wall_base;
		interleave(
			c.rounds, f, [&] { return sample(p.ours, pkt, rep, &wall_ours); },
			[&] { return sample(p.base, pkt, rep, &wall_base); });
		f.extra["wall_ns_per_pkt"] = {{"ours", wall_ours}, {"baseline", wall_base}};
		// Proof that the path measured is the path named: our program counted every frame
		// under the verdict the path takes (for the egress path: the egress program's pass).
		uint64_t counted = action_packets(p.ours_stats, p.ours_action) - before;
		uint64_t sent = static_cast<uint64_t>(rep) * c.rounds;
		f.extra["frames_sent"] = sent;
		f.extra["frames_counted"] = counted;
		if (counted != sent)
			throw std::runtime_error(std::string(p.name) + ": our counters saw " + std::to_string(counted) +
						 " of " + std::to_string(sent) + " frames");
		out.push_back(std::move(f));
	}

	// Counters off (`xdpctl load --no-stats`): the same programs loaded with xdpctl_stats_on = 0
	// against the same bare baselines; the counters-on program is sampled in the same rounds, so
	// each row also states what the counter costs a frame (on - off, medians).
	auto no_stats = [](auto *s) { s->rodata->xdpctl_stats_on = 0; };
	auto pass_off = load_skel_or_throw<xdp_pass>("xdp_pass", no_stats);
	auto drop_off = load_skel_or_throw<xdp_redirect>("xdp_redirect", [&](xdp_redirect *s) {
		no_stats(s);
		s->rodata->miss_action = XDP_DROP;
	});
	auto tx_off = load_skel_or_throw<xdp_redirect>("xdp_redirect", [&](xdp_redirect *s) {
		no_stats(s);
		s->rodata->miss_action = XDP_TX;
	});
	auto redir_off = load_skel_or_throw<xdp_redirect>("xdp_redirect", no_stats);
	auto egress_off = load_skel_or_throw<xdp_egress>("xdp_egress", no_stats);
	auto meta_off = load_skel_or_throw<xdp_meta_producer>("xdp_meta_producer", no_stats);
	set_port(redir_off->maps.tx_port, in0, outs[0]);

	struct OffPath {
		const char *name, *base_what;
		Run off, on, base;
		std::vector<bpf_map *> off_stats; // every counter map the off path has: must stay zero
		std::function<void()> setup;
	};
	const std::vector<OffPath> off_paths = {
		{"drop, counters off", "bpf_redirect_map(miss, XDP_DROP)",
		 {fd(drop_off->progs.xdp_redirect_devmap_hash), in0, false, XDP_DROP},
		 {fd(miss_drop->progs.xdp_redirect_devmap_hash), in0, false, XDP_DROP},
		 {fd(base->progs.base_miss_drop), in0, false, XDP_DROP}, {drop_off->maps.xdpctl_stats},
		 [&] { clear_port(base_hash, in0); }},
		{"pass, counters off", "return XDP_PASS", {fd(pass_off->progs.xdp_pass_prog), in0, false, XDP_PASS},
		 {fd(pass->progs.xdp_pass_prog), in0, false, XDP_PASS}, {fd(base->progs.base_pass), in0, false, XDP_PASS},
		 {pass_off->maps.xdpctl_stats}, {}},
		{"tx, counters off", "bpf_redirect_map(miss, XDP_TX)",
		 {fd(tx_off->progs.xdp_redirect_devmap_hash), in0, true, XDP_TX},
		 {fd(miss_tx->progs.xdp_redirect_devmap_hash), in0, true, XDP_TX},
		 {fd(base->progs.base_miss_tx), in0, true, XDP_TX}, {tx_off->maps.xdpctl_stats},
		 [&] { clear_port(base_hash, in0); }},
		{"redirect DEVMAP, counters off", "bpf_redirect_map(DEVMAP)",
		 {fd(redir_off->progs.xdp_redirect_devmap), in0, true, XDP_REDIRECT},
		 {fd(redir->progs.xdp_redirect_devmap), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap), in0, true, XDP_REDIRECT}, {redir_off->maps.xdpctl_stats}, {}},
		{"redirect DEVMAP_HASH, counters off", "bpf_redirect_map(DEVMAP_HASH)",
		 {fd(redir_off->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(redir->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap_hash), in0, true, XDP_REDIRECT}, {redir_off->maps.xdpctl_stats},
		 [&] {
			 set_port(redir_off->maps.tx_port_hash, in0, outs[0]);
			 set_port(redir->maps.tx_port_hash, in0, outs[0]);
			 set_port(base_hash, in0, outs[0]);
		 }},
		{"redirect + egress prog, counters off", "bpf_redirect_map(DEVMAP_HASH) + egress `return XDP_PASS`",
		 {fd(redir_off->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(redir->progs.xdp_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {fd(base->progs.base_redirect_devmap_hash), in0, true, XDP_REDIRECT},
		 {redir_off->maps.xdpctl_stats, egress_off->maps.xdpctl_stats},
		 [&] {
			 set_port(redir_off->maps.tx_port_hash, in0, outs[0], fd(egress_off->progs.xdp_egress));
			 set_port(redir->maps.tx_port_hash, in0, outs[0], fd(egress->progs.xdp_egress));
			 set_port(base_hash, in0, outs[0], fd(base->progs.base_egress));
		 }},
		{"metadata producer, counters off", "adjust_meta + same flow hash, no mark, no counters",
		 {fd(meta_off->progs.xdp_meta_producer), in0, true, XDP_PASS},
		 {fd(meta->progs.xdp_meta_producer), in0, true, XDP_PASS},
		 {fd(base->progs.base_meta), in0, true, XDP_PASS}, {meta_off->maps.xdpctl_stats}, {}},
	};
	for (const auto &p : off_paths) {
		ready_peers(p.off.expect == XDP_TX || p.off.expect == XDP_REDIRECT);
		if (p.setup)
			p.setup();
		sample(p.off, pkt, 64);
		sample(p.on, pkt, 64);
		sample(p.base, pkt, 64);
		uint32_t rep = repeat_for(p.off);
		Figure f;
		f.group = "dataplane";
		f.name = p.name;
		f.unit = "ns/pkt";
		f.how = std::string(p.off.live ? "BPF_PROG_TEST_RUN live frames" : "BPF_PROG_TEST_RUN") + ", repeat " +
			std::to_string(rep) + ", 60-byte UDP/IPv4 frame, thread CPU time; loaded with xdpctl_stats_on = 0";
		f.ours.what = "as the row without \"counters off\", loaded with --no-stats";
		f.baseline.what = p.base_what;
		std::vector<double> on;
		interleave(
			c.rounds, f,
			[&] {
				on.push_back(sample(p.on, pkt, rep));
				return sample(p.off, pkt, rep);
			},
			[&] { return sample(p.base, pkt, rep); });
		auto son = spread(on), soff = spread(f.ours.samples);
		f.extra["counters_on_ns_per_pkt"] = {{"median", son.median}, {"min", son.min}, {"max", son.max}};
		f.extra["counter_cost_ns_per_pkt"] = son.median - soff.median;
		for (bpf_map *m : p.off_stats)
			for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++)
				if (action_packets(m, a))
					throw std::runtime_error(std::string(p.name) + ": a program loaded with counters off counted");
		out.push_back(std::move(f));
	}
}

} // namespace bench
