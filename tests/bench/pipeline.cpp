// Live pipeline: frames cross a veth into the program under test, attached natively, and what
// it forwards is counted where it arrives.
//
//   netns gen: g0 --veth-- d0 (netns dut, program under test) -> t0..t3 --veth-- t0p..t3p
//
// Generator threads (1 or 2, one per CPU) in netns gen run base_gen (XDP_TX) through
// BPF_PROG_TEST_RUN with live frames on g0: every 64-byte frame is transmitted to d0. Processed
// = frames d0's XDP program ran on (veth's rx_queue_*_xdp_packets); delivered = frames the sinks
// counted: one xdp_redirect_devmap_hash on an empty map (a counted XDP_DROP) attached to t0p..t3p
// for the redirect and broadcast paths (a broadcast delivers one copy per port) and to g0 for
// XDP_TX (the frame goes back out of d0). Drop, pass and the metadata producer deliver nothing to
// count (a passed frame becomes an skb for d0's stack): processed only. Rates over the
// generators' wall time. Ours and the baseline swap on d0 through bpf_link_update between
// rounds. Wall time, unlike the test-run figures: a rate on a shared machine is what it is, and
// the spread says how shared it was.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

#include "bench.hpp"
#include "bench_base.skel.h"
#include "bpffs_dir.hpp"
#include "ethtool_stats.hpp"
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
#include "xdpctl/bpffs.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/skeleton.hpp"

namespace bench {
namespace {

void must_sh(const std::string &cmd)
{
	std::string o;
	if (xt::sh(cmd, &o))
		throw std::runtime_error(cmd + ": " + o);
}

// Frames d0's XDP program ran on, over all its rx queues (the calling thread is in dut).
uint64_t d0_xdp_packets()
{
	return xt::rx_queue_sum(xt::ethtool_stats("d0"), "xdp_packets");
}

struct Rates {
	double sent, processed, delivered; // Mpps
};

} // namespace

void pipeline(const Config &c, std::vector<Figure> &out)
{
	xt::NetNs::reap_stale();
	xt::NetNs gen, dut;
	// two queues each way, so two generator CPUs do not share one ring
	must_sh("ip -n " + gen.name() + " link add g0 numtxqueues 2 numrxqueues 2 type veth peer name d0 netns " +
		dut.name() + " numtxqueues 2 numrxqueues 2");
	must_sh(gen.exec() + "ip link set g0 up");
	must_sh(dut.exec() + "ip link set d0 up");
	const int kTargets = 4;
	for (int i = 0; i < kTargets; i++) {
		std::string t = "t" + std::to_string(i);
		must_sh("ip -n " + dut.name() + " link add " + t + " numtxqueues 2 numrxqueues 2 type veth peer name " + t +
			"p numtxqueues 2 numrxqueues 2");
		must_sh(dut.exec() + "ip link set " + t + " up");
		must_sh(dut.exec() + "ip link set " + t + "p up");
	}

	// the sink: a counted XDP_DROP on every target's peer, and on g0 for what d0 sends back. One
	// program for all (only one path runs at a time): every attached program joins the kernel's
	// XDP dispatcher, and a longer compare chain there would sit in front of d0's program too.
	auto sink = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_DROP; });
	int sink_fd = bpf_program__fd(sink->progs.xdp_redirect_devmap_hash);
	gen.enter();
	uint32_t g0 = if_nametoindex("g0");
	auto genp = load_skel_or_throw<bench_base>("bench_base");
	auto back_link = xt::XdpLink::attach(sink_fd, static_cast<int>(g0));
	gen.leave();
	if (!back_link)
		throw std::runtime_error("sink on g0: " + back_link.error().message());
	int gen_fd = bpf_program__fd(genp->progs.base_gen);

	dut.enter();
	uint32_t d0 = if_nametoindex("d0");
	std::vector<uint32_t> targets;
	std::vector<xt::XdpLink> sink_links;
	for (int i = 0; i < kTargets; i++) {
		targets.push_back(if_nametoindex(("t" + std::to_string(i)).c_str()));
		auto l = xt::XdpLink::attach(sink_fd, static_cast<int>(if_nametoindex(("t" + std::to_string(i) + "p").c_str())));
		if (!l)
			throw std::runtime_error("sink on t" + std::to_string(i) + "p: " + l.error().message());
		sink_links.push_back(std::move(*l));
	}
	auto base = load_skel_or_throw<bench_base>("bench_base");
	auto ours = load_skel_or_throw<xdp_redirect>("xdp_redirect");
	auto miss_drop = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_DROP; });
	auto miss_tx = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_TX; });
	auto pass = load_skel_or_throw<xdp_pass>("xdp_pass");
	auto bcast = load_skel_or_throw<xdp_broadcast>("xdp_broadcast");
	auto egress = load_skel_or_throw<xdp_egress>("xdp_egress");
	auto meta = load_skel_or_throw<xdp_meta_producer>("xdp_meta_producer");
	auto set_port = [](bpf_map *m, uint32_t key, uint32_t ifindex, int prog_fd) {
		struct bpf_devmap_val v {};
		v.ifindex = ifindex;
		v.bpf_prog.fd = prog_fd;
		if (bpf_map__update_elem(m, &key, sizeof(key), &v, sizeof(v), BPF_ANY))
			throw std::runtime_error(std::string("devmap entry in ") + bpf_map__name(m));
	};
	// the broadcast group: ours through xdpctl::group_add (as `xdpctl broadcast add`), the
	// baseline's in devmaps of exactly the group's size (bench_base declares them for 4 ports)
	fill_group_ours(bcast->maps.bcast_group, "bcast_ports", targets);
	fill_group_ours(bcast->maps.bcast_group_hash, "bcast_ports_hash", targets);
	fill_group_base(base->maps.bcast_ports, targets);
	fill_group_base(base->maps.bcast_ports_hash, targets);
	set_port(ours->maps.tx_port, d0, targets[0], 0);
	set_port(base->maps.tx_port, d0, targets[0], 0);
	int ours_fd = bpf_program__fd(ours->progs.xdp_redirect_devmap_hash);
	int base_fd = bpf_program__fd(base->progs.base_redirect_devmap_hash);
	auto dut_link = xt::XdpLink::attach(ours_fd, static_cast<int>(d0));
	if (!dut_link)
		throw std::runtime_error("attach on d0: " + dut_link.error().message());
	dut.leave();

	auto pkt = xt::Packet().eth(xt::kMacB, xt::kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).pad_to(60).build();
	const uint32_t repeat = c.smoke ? 256 : 1u << 19;
	const int ncpu = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));

	// Frames the sink counted (on the targets' peers, or on g0 for XDP_TX).
	auto sunk = [&] { return xt::read_action_stats(sink->maps.xdpctl_stats)[XDP_DROP].packets; };

	// One measurement: `threads` generators, each pinned to its own CPU in netns gen.
	auto run = [&](int prog_fd, int threads) -> Rates {
		if (bpf_link_update(dut_link->fd(), prog_fd, nullptr))
			throw std::runtime_error("bpf_link_update on d0");
		uint64_t p0 = d0_xdp_packets();
		uint64_t s0 = sunk();
		std::atomic<int> failed{0};
		double t0 = now_ns();
		std::vector<std::thread> ts;
		for (int t = 0; t < threads; t++)
			ts.emplace_back([&, t] {
				cpu_set_t one;
				CPU_ZERO(&one);
				CPU_SET(t % ncpu, &one);
				sched_setaffinity(0, sizeof(one), &one);
				if (!xt::join_netns(gen)) {
					failed++;
					return;
				}
				auto r = xt::run_xdp(gen_fd, pkt, {.ingress_ifindex = g0, .repeat = repeat, .live = true});
				if (r.err)
					failed++;
			});
		for (auto &t : ts)
			t.join();
		double secs = (now_ns() - t0) / 1e9;
		if (failed)
			throw std::runtime_error("generator thread failed (setns or BPF_PROG_TEST_RUN)");
		usleep(2000); // the last frames in flight reach the sinks
		uint64_t processed = d0_xdp_packets() - p0;
		uint64_t delivered = sunk() - s0;
		double sent = static_cast<double>(threads) * repeat;
		return {sent / secs / 1e6, processed / secs / 1e6, delivered / secs / 1e6};
	};

	auto fd = [](bpf_program *p) { return bpf_program__fd(p); };
	struct PipePath {
		const char *name, *ours_what, *base_what;
		int ours, base;
		bool delivers; // to the sink; drop, pass and the producer do not
		std::function<void()> setup;
	};
	const std::vector<PipePath> paths = {
		{"drop", "xdp_redirect_devmap_hash, miss_action XDP_DROP", "bpf_redirect_map(miss, XDP_DROP)",
		 fd(miss_drop->progs.xdp_redirect_devmap_hash), fd(base->progs.base_miss_drop), false, {}},
		{"pass", "xdp_pass", "return XDP_PASS", fd(pass->progs.xdp_pass_prog), fd(base->progs.base_pass),
		 false, {}},
		{"tx", "xdp_redirect_devmap_hash, miss_action XDP_TX", "bpf_redirect_map(miss, XDP_TX)",
		 fd(miss_tx->progs.xdp_redirect_devmap_hash), fd(base->progs.base_miss_tx), true, {}},
		{"redirect DEVMAP", "xdp_redirect_devmap", "bpf_redirect_map(DEVMAP)", fd(ours->progs.xdp_redirect_devmap),
		 fd(base->progs.base_redirect_devmap), true, {}},
		{"redirect DEVMAP_HASH", "xdp_redirect_devmap_hash", "bpf_redirect_map(DEVMAP_HASH)", ours_fd, base_fd,
		 true,
		 [&] {
			 set_port(ours->maps.tx_port_hash, d0, targets[0], 0);
			 set_port(base->maps.tx_port_hash, d0, targets[0], 0);
		 }},
		{"redirect + egress prog", "xdp_redirect_devmap_hash + xdp_egress (port unconfigured)",
		 "bpf_redirect_map(DEVMAP_HASH) + egress `return XDP_PASS`", ours_fd, base_fd, true,
		 [&] {
			 set_port(ours->maps.tx_port_hash, d0, targets[0], fd(egress->progs.xdp_egress));
			 set_port(base->maps.tx_port_hash, d0, targets[0], fd(base->progs.base_egress));
		 }},
		{"broadcast 4 DEVMAP", "xdp_broadcast_devmap (group via xdpctl::group_add)", "bpf_redirect_map(DEVMAP of 4, BROADCAST)",
		 fd(bcast->progs.xdp_broadcast_devmap), fd(base->progs.base_broadcast_devmap), true, {}},
		{"broadcast 4 DEVMAP_HASH", "xdp_broadcast_devmap_hash (group via xdpctl::group_add)",
		 "bpf_redirect_map(DEVMAP_HASH of 4, BROADCAST)",
		 fd(bcast->progs.xdp_broadcast_devmap_hash), fd(base->progs.base_broadcast_devmap_hash), true,
		 {}},
		{"metadata producer", "xdp_meta_producer", "adjust_meta + same flow hash, no mark, no counters",
		 fd(meta->progs.xdp_meta_producer), fd(base->progs.base_meta), false, {}},
	};

	// devmap entries resolve their ifindex in the writing thread's namespace: write them from dut
	dut.enter();
	for (const auto &p : paths) {
		if (p.setup)
			p.setup();
		for (int threads : {1, 2}) {
			std::string suffix = ", " + std::to_string(threads) + " gen thread(s)";
			Figure proc{.group = "pipeline", .name = "pipeline " + std::string(p.name) + " processed" + suffix,
				    .unit = "Mpps"};
			Figure del{.group = "pipeline", .name = "pipeline " + std::string(p.name) + " delivered" + suffix,
				   .unit = "Mpps"};
			for (Figure *f : {&proc, &del}) {
				f->how = "veth g0 -> d0 (native XDP) -> t0..t3 -> t0p..t3p (or back to g0), 64-byte frames, " +
					 std::to_string(threads) + " x " + std::to_string(repeat) + " live test-run frames, wall time";
				f->higher_is_better = true;
				f->ours.what = p.ours_what;
				f->baseline.what = p.base_what;
			}
			run(p.ours, threads); // warm-up: rings, page pools
			// what the generators offered: processed below it means d0's ring overflowed
			std::vector<double> sent_ours, sent_base;
			interleave(
				c.pipe_rounds, proc,
				[&] {
					auto r = run(p.ours, threads);
					del.ours.samples.push_back(r.delivered);
					sent_ours.push_back(r.sent);
					return r.processed;
				},
				[&] {
					auto r = run(p.base, threads);
					del.baseline.samples.push_back(r.delivered);
					sent_base.push_back(r.sent);
					return r.processed;
				});
			proc.extra["sent_mpps"] = {{"ours", sent_ours}, {"baseline", sent_base}};
			out.push_back(std::move(proc));
			if (p.delivers)
				out.push_back(std::move(del));
		}
	}

	// --- atomic replace under traffic -----------------------------------------------------
	// Ours: the product's atomic replace, `xdpctl load --replace` (xdpctl::load with replace: a
	// new instance over the pinned devmap, bpf_link_update of the pinned link, pins swapped).
	// Baseline: the bare floor of the same swap, a skeleton load over the same devmap and one
	// bpf_link_update. d0 runs xdp_redirect_hash attached by xdpctl::load in a private bpffs;
	// the rule d0 -> t0 is xdpctl's.
	xt::BpffsDir bpffs;
	if (!bpffs.ok())
		throw std::runtime_error("cannot mount a private bpffs");
	dut_link->detach();
	const xdpctl::LoadRequest load_req{.program = {.name_or_path = "xdp_redirect_hash"}, .interfaces = {"d0"}};
	if (auto r = xdpctl::load(load_req); !r)
		throw std::runtime_error("xdpctl::load on d0: " + r.error().message());
	if (auto r = xdpctl::redirect_add({{"d0", "t0", {}}}, {.ready = xdpctl::ReadyPolicy::Refuse}); !r)
		throw std::runtime_error("xdpctl::redirect_add d0 -> t0: " + r.error().message());
	auto lay = xdpctl::current_layout();
	if (!lay)
		throw std::runtime_error("bpffs layout: " + lay.error().message());
	xdpctl::Fd pinned_link(bpf_obj_get(lay->link_pin(static_cast<int>(d0)).c_str()));
	xdpctl::Fd pinned_devmap(bpf_obj_get(lay->map_pin("tx_port_hash").c_str()));
	if (!pinned_link || !pinned_devmap)
		throw std::runtime_error("xdpctl's pinned link or tx_port_hash on d0");

	auto swap_ours = [&] {
		usleep(20000);
		double t0 = now_ns();
		auto r = xdpctl::load({.program = load_req.program, .interfaces = load_req.interfaces, .replace = true});
		double ms = (now_ns() - t0) / 1e6;
		if (!r)
			throw std::runtime_error("xdpctl::load --replace on d0: " + r.error().message());
		return ms;
	};
	auto swap_base = [&] {
		usleep(20000);
		double t0 = now_ns();
		auto s = xdpctl::open_skel<xdp_redirect>("xdp_redirect");
		if (!s)
			throw std::runtime_error("open xdp_redirect: " + s.error().message());
		for (bpf_program *prog = nullptr; (prog = bpf_object__next_program((*s)->obj, prog));)
			bpf_program__set_autoload(prog, prog == (*s)->progs.xdp_redirect_devmap_hash);
		if (bpf_map__reuse_fd((*s)->maps.tx_port_hash, pinned_devmap.get()) || !xdpctl::load_skel(*s, "xdp_redirect") ||
		    bpf_link_update(pinned_link.get(), bpf_program__fd((*s)->progs.xdp_redirect_devmap_hash), nullptr))
			throw std::runtime_error("bare replace on d0");
		return (now_ns() - t0) / 1e6;
	};

	// Traffic from one generator for the duration of `during`; counters read once it stopped
	// and the last frames arrived, so processed and delivered count the same frames.
	auto lost_over = [&](const std::function<void()> &during) {
		uint64_t p0 = d0_xdp_packets();
		uint64_t s0 = sunk();
		std::atomic<bool> stop{false};
		std::atomic<int> failed{0};
		std::thread traffic([&] {
			if (!xt::join_netns(gen)) {
				failed++;
				return;
			}
			while (!stop)
				if (xt::run_xdp(gen_fd, pkt, {.ingress_ifindex = g0, .repeat = 1u << 12, .live = true}).err) {
					failed++;
					return;
				}
		});
		try {
			during();
		} catch (...) {
			stop = true;
			traffic.join();
			throw;
		}
		stop = true;
		traffic.join();
		if (failed)
			throw std::runtime_error("replace: generator failed");
		usleep(50000); // frames in flight reach the sink
		uint64_t processed = d0_xdp_packets() - p0;
		uint64_t delivered = sunk() - s0;
		return nlohmann::json{{"processed", processed}, {"delivered", delivered},
				      {"lost", static_cast<int64_t>(processed) - static_cast<int64_t>(delivered)}};
	};
	Figure rep{.group = "pipeline", .name = "atomic replace under traffic", .unit = "ms",
		   .how = "xdp_redirect_hash on d0 replaced while 1 generator sends through it; 20 ms of traffic "
			  "before each swap"};
	rep.ours.what = "xdpctl::load --replace (new instance over the pinned devmap, bpf_link_update, pins swapped)";
	rep.baseline.what = "skeleton load over the same devmap + bpf_link_update";
	auto control = lost_over([&] { usleep(20000 * 2 * c.cp_rounds); });
	auto with_swaps = lost_over([&] { interleave(c.cp_rounds, rep, swap_ours, swap_base); });
	rep.extra["frames_during_swaps"] = with_swaps;
	rep.extra["frames_same_time_no_swaps"] = control;
	if (auto u = xdpctl::unload({"d0"}); !u)
		throw std::runtime_error("xdpctl::unload d0: " + u.error().message());
	dut.leave();
	out.push_back(std::move(rep));
}

} // namespace bench
