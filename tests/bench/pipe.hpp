// The live pipeline's topology, shared by the pipeline section (pipeline.cpp: ours against the
// bare program) and the peer section (peer.cpp: ours against xdp-bench):
//
//   netns gen: g0 --veth-- d0 (netns dut, program under test) -> t0..t3 --veth-- t0p..t3p
//
// Generator threads (1 or 2, one per CPU) in netns gen run base_gen (XDP_TX) through
// BPF_PROG_TEST_RUN with live frames on g0: every 64-byte frame is transmitted to d0. Processed
// = frames d0's XDP program ran on (veth's rx_queue_*_xdp_packets); delivered = frames the sinks
// counted: one xdp_redirect_devmap_hash on an empty map (a counted XDP_DROP) attached to t0p..t3p
// for the redirect and broadcast paths (a broadcast delivers one copy per port) and to g0 for
// XDP_TX (the frame goes back out of d0). Rates over the generators' wall time. Whatever runs on
// d0 is the caller's: a Pipe only sends and counts.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_base.skel.h"
#include "netns.hpp"
#include "packet.hpp"
#include "xdp_attach.hpp"
#include "xdp_redirect.skel.h"
#include "xdpctl/skeleton.hpp"

namespace bench {

struct Rates {
	double sent, processed, delivered; // Mpps
};

class Pipe {
public:
	static constexpr int kTargets = 4;

	explicit Pipe(bool smoke);
	Pipe(const Pipe &) = delete;
	Pipe &operator=(const Pipe &) = delete;

	xt::NetNs gen, dut;
	uint32_t g0 = 0, d0 = 0;       // g0 in gen, d0 in dut
	std::vector<uint32_t> targets; // t0..t3, in dut
	uint32_t repeat = 0;           // frames per generator thread and run

	// One run of `threads` generators, each pinned to its own CPU in netns gen, through whatever
	// d0 runs now.
	Rates run(int threads);
	// Frames one generator sends while `during` runs, and what d0 processed and the sinks got:
	// {"processed", "delivered", "lost"}, read once the last frames arrived.
	nlohmann::json traffic_over(const std::function<void()> &during);

	// d0 and sink programs live as long as the Pipe
	xdpctl::Skel<bench_base> base; // the baselines' bare programs, loaded in dut
private:
	uint64_t d0_xdp_packets();
	uint64_t sunk();

	xdpctl::Skel<xdp_redirect> sink_;
	xdpctl::Skel<bench_base> genp_;
	xt::XdpLink back_link_;
	std::vector<xt::XdpLink> sink_links_;
	xt::Bytes pkt_;
	int ncpu_ = 1;
};

} // namespace bench
