// Live pipeline: frames cross a veth into the program under test, attached natively, and what
// it forwards is counted where it arrives (the topology and what is counted: pipe.hpp). Drop,
// pass and the metadata producer deliver nothing to count (a passed frame becomes an skb for
// d0's stack): processed only. Ours and the baseline swap on d0 through bpf_link_update between
// rounds. Wall time, unlike the test-run figures: a rate on a shared machine is what it is, and
// the spread says how shared it was.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <stdexcept>

#include "bench.hpp"
#include "bpffs_dir.hpp"
#include "pipe.hpp"
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

void pipeline(const Config &c, std::vector<Figure> &out)
{
	xt::NetNs::reap_stale();
	Pipe pipe(c.smoke);
	auto &dut = pipe.dut;
	const auto &targets = pipe.targets;
	const uint32_t d0 = pipe.d0, repeat = pipe.repeat;
	auto &base = pipe.base;

	dut.enter();
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

	// One measurement: prog_fd on d0 (bpf_link_update), then the pipe's generators.
	auto run = [&](int prog_fd, int threads) -> Rates {
		if (bpf_link_update(dut_link->fd(), prog_fd, nullptr))
			throw std::runtime_error("bpf_link_update on d0");
		return pipe.run(threads);
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

	Figure rep{.group = "pipeline", .name = "atomic replace under traffic", .unit = "ms",
		   .how = "xdp_redirect_hash on d0 replaced while 1 generator sends through it; 20 ms of traffic "
			  "before each swap"};
	rep.ours.what = "xdpctl::load --replace (new instance over the pinned devmap, bpf_link_update, pins swapped)";
	rep.baseline.what = "skeleton load over the same devmap + bpf_link_update";
	auto control = pipe.traffic_over([&] { usleep(20000 * 2 * c.cp_rounds); });
	auto with_swaps = pipe.traffic_over([&] { interleave(c.cp_rounds, rep, swap_ours, swap_base); });
	rep.extra["frames_during_swaps"] = with_swaps;
	rep.extra["frames_same_time_no_swaps"] = control;
	if (auto u = xdpctl::unload({"d0"}); !u)
		throw std::runtime_error("xdpctl::unload d0: " + u.error().message());
	dut.leave();
	out.push_back(std::move(rep));
}

} // namespace bench
