// The live pipeline's topology (pipe.hpp).
#include "pipe.hpp"

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
#include "ethtool_stats.hpp"
#include "prog_run.hpp"

namespace bench {
namespace {

void must_sh(const std::string &cmd)
{
	std::string o;
	if (xt::sh(cmd, &o))
		throw std::runtime_error(cmd + ": " + o);
}

} // namespace

Pipe::Pipe(bool smoke)
{
	// two queues each way, so two generator CPUs do not share one ring
	must_sh("ip -n " + gen.name() + " link add g0 numtxqueues 2 numrxqueues 2 type veth peer name d0 netns " +
		dut.name() + " numtxqueues 2 numrxqueues 2");
	must_sh(gen.exec() + "ip link set g0 up");
	must_sh(dut.exec() + "ip link set d0 up");
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
	sink_ = load_skel_or_throw<xdp_redirect>("xdp_redirect", [](xdp_redirect *s) { s->rodata->miss_action = XDP_DROP; });
	int sink_fd = bpf_program__fd(sink_->progs.xdp_redirect_devmap_hash);
	gen.enter();
	g0 = if_nametoindex("g0");
	genp_ = load_skel_or_throw<bench_base>("bench_base");
	auto back = xt::XdpLink::attach(sink_fd, static_cast<int>(g0));
	gen.leave();
	if (!back)
		throw std::runtime_error("sink on g0: " + back.error().message());
	back_link_ = std::move(*back);

	dut.enter();
	d0 = if_nametoindex("d0");
	for (int i = 0; i < kTargets; i++) {
		targets.push_back(if_nametoindex(("t" + std::to_string(i)).c_str()));
		auto l = xt::XdpLink::attach(sink_fd, static_cast<int>(if_nametoindex(("t" + std::to_string(i) + "p").c_str())));
		if (!l) {
			dut.leave();
			throw std::runtime_error("sink on t" + std::to_string(i) + "p: " + l.error().message());
		}
		sink_links_.push_back(std::move(*l));
	}
	base = load_skel_or_throw<bench_base>("bench_base");
	dut.leave();

	pkt_ = xt::Packet().eth(xt::kMacB, xt::kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).pad_to(60).build();
	repeat = smoke ? 256 : 1u << 19;
	ncpu_ = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
}

// Frames d0's XDP program ran on, over all its rx queues (the calling thread is in dut).
uint64_t Pipe::d0_xdp_packets()
{
	return xt::rx_queue_sum(xt::ethtool_stats("d0"), "xdp_packets");
}

// Frames the sink counted (on the targets' peers, or on g0 for XDP_TX).
uint64_t Pipe::sunk()
{
	return xt::read_action_stats(sink_->maps.xdpctl_stats)[XDP_DROP].packets;
}

Rates Pipe::run(int threads)
{
	uint64_t p0 = d0_xdp_packets();
	uint64_t s0 = sunk();
	std::atomic<int> failed{0};
	double t0 = now_ns();
	std::vector<std::thread> ts;
	int gen_fd = bpf_program__fd(genp_->progs.base_gen);
	for (int t = 0; t < threads; t++)
		ts.emplace_back([&, t] {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(t % ncpu_, &one);
			sched_setaffinity(0, sizeof(one), &one);
			if (!xt::join_netns(gen)) {
				failed++;
				return;
			}
			auto r = xt::run_xdp(gen_fd, pkt_, {.ingress_ifindex = g0, .repeat = repeat, .live = true});
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
}

nlohmann::json Pipe::traffic_over(const std::function<void()> &during)
{
	uint64_t p0 = d0_xdp_packets();
	uint64_t s0 = sunk();
	std::atomic<bool> stop{false};
	std::atomic<int> failed{0};
	int gen_fd = bpf_program__fd(genp_->progs.base_gen);
	std::thread traffic([&] {
		if (!xt::join_netns(gen)) {
			failed++;
			return;
		}
		while (!stop)
			if (xt::run_xdp(gen_fd, pkt_, {.ingress_ifindex = g0, .repeat = 1u << 12, .live = true}).err) {
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
		throw std::runtime_error("generator failed");
	usleep(50000); // frames in flight reach the sink
	uint64_t processed = d0_xdp_packets() - p0;
	uint64_t delivered = sunk() - s0;
	return nlohmann::json{{"processed", processed}, {"delivered", delivered},
			      {"lost", static_cast<int64_t>(processed) - static_cast<int64_t>(delivered)}};
}

} // namespace bench
