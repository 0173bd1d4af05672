// Live pipeline: frames cross a veth into the program under test, attached natively, which
// redirects them into a second veth where they are counted on arrival.
//
//   netns gen: g0 --veth-- d0 (netns dut, program under test) -> redirect -> d1 --veth-- d1p
//
// Generator threads (1 or 2, one per CPU) in netns gen run base_gen (XDP_TX) through
// BPF_PROG_TEST_RUN with live frames on g0: every 64-byte frame is transmitted to d0. Processed
// = frames d0's XDP program ran on (veth's rx_queue_*_xdp_packets), delivered = frames the
// program on d1p counted (our xdp_redirect_devmap_hash on an empty map: a counted XDP_DROP), both
// over the generators' wall time. Ours and the baseline swap on d0 through bpf_link_update
// between rounds. Wall time, unlike the test-run figures: a rate on a shared machine is what it
// is, and the spread says how shared it was.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <regex>
#include <stdexcept>
#include <thread>

#include "bench.hpp"
#include "bench_base.skel.h"
#include "netns.hpp"
#include "packet.hpp"
#include "prog_run.hpp"
#include "xdp_attach.hpp"
#include "xdp_redirect.skel.h"
#include "xdpctl/skeleton.hpp"

namespace bench {
namespace {

void must_sh(const std::string &cmd)
{
	std::string o;
	if (xt::sh(cmd, &o))
		throw std::runtime_error(cmd + ": " + o);
}

// Frames the device's XDP program ran on, over all its rx queues.
uint64_t xdp_packets(const xt::NetNs &ns, const std::string &ifname)
{
	std::string o;
	if (xt::sh(ns.exec() + "ethtool -S " + ifname, &o))
		throw std::runtime_error("ethtool -S " + ifname + ": " + o);
	static const std::regex re(R"(rx_queue_\d+_xdp_packets:\s*(\d+))");
	uint64_t sum = 0;
	for (std::sregex_iterator it(o.begin(), o.end(), re), end; it != end; ++it)
		sum += std::stoull((*it)[1]);
	return sum;
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
	must_sh("ip -n " + dut.name() + " link add d1 numtxqueues 2 numrxqueues 2 type veth peer name d1p "
					"numtxqueues 2 numrxqueues 2");
	for (const auto &[ns, dev] : {std::pair{&gen, "g0"}, {&dut, "d0"}, {&dut, "d1"}, {&dut, "d1p"}})
		must_sh(ns->exec() + "ip link set " + dev + " up");

	dut.enter();
	uint32_t d0 = if_nametoindex("d0"), d1 = if_nametoindex("d1"), d1p = if_nametoindex("d1p");
	auto base = load_skel_or_throw<bench_base>("bench_base");
	auto ours = load_skel_or_throw<xdp_redirect>("xdp_redirect");
	auto sink = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_DROP; });
	struct bpf_devmap_val v {};
	v.ifindex = d1;
	if (bpf_map__update_elem(ours->maps.tx_port_hash, &d0, sizeof(d0), &v, sizeof(v), BPF_ANY) ||
	    bpf_map__update_elem(base->maps.tx_port_hash, &d0, sizeof(d0), &v, sizeof(v), BPF_ANY))
		throw std::runtime_error("devmap entry d0 -> d1");
	int ours_fd = bpf_program__fd(ours->progs.xdp_redirect_devmap_hash);
	int base_fd = bpf_program__fd(base->progs.base_redirect_devmap_hash);
	auto dut_link = xt::XdpLink::attach(ours_fd, static_cast<int>(d0));
	auto sink_link = xt::XdpLink::attach(bpf_program__fd(sink->progs.xdp_redirect_devmap_hash), static_cast<int>(d1p));
	if (!dut_link || !sink_link)
		throw std::runtime_error("attach in dut: " + (dut_link ? sink_link.error() : dut_link.error()).message());
	dut.leave();

	gen.enter();
	uint32_t g0 = if_nametoindex("g0");
	auto genp = load_skel_or_throw<bench_base>("bench_base");
	gen.leave();
	int gen_fd = bpf_program__fd(genp->progs.base_gen);

	auto pkt = xt::Packet().eth(xt::kMacB, xt::kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).pad_to(60).build();
	const uint32_t repeat = c.smoke ? 256 : 1u << 20;
	const int ncpu = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));

	// One measurement: `threads` generators, each pinned to its own CPU in netns gen.
	auto run = [&](int prog_fd, int threads) -> Rates {
		if (bpf_link_update(dut_link->fd(), prog_fd, nullptr))
			throw std::runtime_error("bpf_link_update on d0");
		uint64_t p0 = xdp_packets(dut, "d0");
		uint64_t s0 = xt::read_action_stats(sink->maps.xdpctl_stats)[XDP_DROP].packets;
		std::atomic<int> failed{0};
		double t0 = now_ns();
		std::vector<std::thread> ts;
		for (int t = 0; t < threads; t++)
			ts.emplace_back([&, t] {
				cpu_set_t one;
				CPU_ZERO(&one);
				CPU_SET(t % ncpu, &one);
				sched_setaffinity(0, sizeof(one), &one);
				int fd = open(("/run/netns/" + gen.name()).c_str(), O_RDONLY | O_CLOEXEC);
				if (fd < 0 || setns(fd, CLONE_NEWNET)) {
					failed++;
					return;
				}
				close(fd);
				auto r = xt::run_xdp(gen_fd, pkt, {.ingress_ifindex = g0, .repeat = repeat, .live = true});
				if (r.err)
					failed++;
			});
		for (auto &t : ts)
			t.join();
		double secs = (now_ns() - t0) / 1e9;
		if (failed)
			throw std::runtime_error("generator thread failed (setns or BPF_PROG_TEST_RUN)");
		uint64_t processed = xdp_packets(dut, "d0") - p0;
		uint64_t delivered = xt::read_action_stats(sink->maps.xdpctl_stats)[XDP_DROP].packets - s0;
		double sent = static_cast<double>(threads) * repeat;
		return {sent / secs / 1e6, processed / secs / 1e6, delivered / secs / 1e6};
	};

	for (int threads : {1, 2}) {
		Figure proc{.group = "pipeline", .name = "pipeline processed, " + std::to_string(threads) + " gen thread(s)",
			    .unit = "Mpps"};
		Figure del{.group = "pipeline", .name = "pipeline delivered, " + std::to_string(threads) + " gen thread(s)",
			   .unit = "Mpps"};
		for (Figure *f : {&proc, &del}) {
			f->how = "veth g0 -> d0 (native XDP) -> redirect DEVMAP_HASH -> d1 -> d1p, 64-byte frames, " +
				 std::to_string(threads) + " x " + std::to_string(repeat) + " live test-run frames, wall time";
			f->higher_is_better = true;
			f->ours.what = "xdp_redirect_devmap_hash on d0";
			f->baseline.what = "base_redirect_devmap_hash on d0";
		}
		run(ours_fd, threads); // warm-up: rings, page pools
		// what the generators offered: processed below it means d0's ring overflowed
		std::vector<double> sent_ours, sent_base;
		interleave(
			c.cp_rounds, del,
			[&] {
				auto r = run(ours_fd, threads);
				proc.ours.samples.push_back(r.processed);
				sent_ours.push_back(r.sent);
				return r.delivered;
			},
			[&] {
				auto r = run(base_fd, threads);
				proc.baseline.samples.push_back(r.processed);
				sent_base.push_back(r.sent);
				return r.delivered;
			});
		proc.extra["sent_mpps"] = {{"ours", sent_ours}, {"baseline", sent_base}};
		out.push_back(std::move(proc));
		out.push_back(std::move(del));
	}

	// --- atomic replace under traffic -----------------------------------------------------
	// libbpf directly: xdpctl::load's replace fails on this tree (it pins "<map>.new", a name
	// bpffs refuses, and it finds the pinned tx_port of another shape), see the report.
	dut.enter();
	int devmap = bpf_map__fd(ours->maps.tx_port_hash); // holds d0 -> d1
	if (bpf_link_update(dut_link->fd(), ours_fd, nullptr))
		throw std::runtime_error("bpf_link_update on d0");
	// A new instance of a program over the same devmap, swapped in; ms for load + swap.
	auto swap_in = [&]<class S>(const char *name, bpf_map *(*map)(S *), bpf_program *(*prog)(S *)) {
		usleep(20000);
		double t0 = now_ns();
		auto s = xdpctl::open_skel<S>(name);
		if (!s || bpf_map__reuse_fd(map(s->get()), devmap) || !xdpctl::load_skel(*s, name) ||
		    bpf_link_update(dut_link->fd(), bpf_program__fd(prog(s->get())), nullptr))
			throw std::runtime_error(std::string("replace on d0 with ") + name);
		return (now_ns() - t0) / 1e6;
	};

	// Traffic from one generator for the duration of `during`; counters read once it stopped
	// and the last frames arrived, so processed and delivered count the same frames.
	auto lost_over = [&](const std::function<void()> &during) {
		uint64_t p0 = xdp_packets(dut, "d0");
		uint64_t s0 = xt::read_action_stats(sink->maps.xdpctl_stats)[XDP_DROP].packets;
		std::atomic<bool> stop{false};
		std::atomic<int> failed{0};
		std::thread traffic([&] {
			int fd = open(("/run/netns/" + gen.name()).c_str(), O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET)) {
				failed++;
				return;
			}
			close(fd);
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
		uint64_t processed = xdp_packets(dut, "d0") - p0;
		uint64_t delivered = xt::read_action_stats(sink->maps.xdpctl_stats)[XDP_DROP].packets - s0;
		return nlohmann::json{{"processed", processed}, {"delivered", delivered},
				      {"lost", static_cast<int64_t>(processed) - static_cast<int64_t>(delivered)}};
	};
	Figure rep{.group = "pipeline", .name = "atomic replace under traffic", .unit = "ms",
		   .how = "new instance loaded over the same devmap and swapped onto d0 with bpf_link_update while "
			  "1 generator sends; 20 ms of traffic before each swap"};
	rep.ours.what = "xdp_redirect_devmap_hash: skeleton load + bpf_link_update";
	rep.baseline.what = "base_redirect_devmap_hash: skeleton load + bpf_link_update";
	auto control = lost_over([&] { usleep(20000 * 2 * c.cp_rounds); });
	auto with_swaps = lost_over([&] {
		interleave(
			c.cp_rounds, rep,
			[&] {
				return swap_in.operator()<xdp_redirect>(
					"xdp_redirect", [](xdp_redirect *x) { return x->maps.tx_port_hash; },
					[](xdp_redirect *x) { return x->progs.xdp_redirect_devmap_hash; });
			},
			[&] {
				return swap_in.operator()<bench_base>(
					"bench_base", [](bench_base *x) { return x->maps.tx_port_hash; },
					[](bench_base *x) { return x->progs.base_redirect_devmap_hash; });
			});
	});
	rep.extra["frames_during_swaps"] = with_swaps;
	rep.extra["frames_same_time_no_swaps"] = control;
	dut.leave();
	out.push_back(std::move(rep));
}

} // namespace bench
