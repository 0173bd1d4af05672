// The demo behind `xdpctl demo`: a topology of its own, real traffic through xdp_redirect,
// xdp_broadcast and the xdp_egress devmap program, the counters, and a teardown that leaves the
// machine as it was (also after a failed step, and when `stop` is raised by a signal).
//
//   netns xdpctl-demo-<pid>-gen          netns xdpctl-demo-<pid>-sw (the "switch")
//     gen0 10.77.1.1 ---------------------- in0   xdp_redirect: in0 -> out-a (egress xdp_egress)
//     gen1 10.77.2.1 ---------------------- bc0   xdp_broadcast: group out-a, out-b, out-c
//                                            out-a -- rx-a 10.77.1.2   (xdp_pass on rx-*:
//                                            out-b -- rx-b              the ready redirect
//                                            out-c -- rx-c              targets' peers)
//
// UDP from gen0 to 10.77.1.2 must reach rx-a only; UDP broadcast from gen1 must reach rx-a, rx-b
// and rx-c once each; every frame must carry its egress port's MAC as source (xdp_egress). The
// programs are loaded and wired through libxdpctl (load, make_redirect_target_ready,
// redirect_add, broadcast_add) in the switch namespace; namespaces, veths and addresses are made
// with iproute2's `ip`.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xdpctl/live_stats.hpp"

namespace xdpctl::demo {

struct Options {
	int unicast = 100;  // datagrams gen0 sends to rx-a
	int broadcast = 50; // datagrams gen1 broadcasts
	const volatile std::sig_atomic_t *stop = nullptr; // raised: the demo tears down and fails
	// Called when a step starts (done = false) and when it ends (done = true, ok, detail).
	std::function<void(const std::string &step, bool done, bool ok, const std::string &detail)> progress;
};

struct Receiver {
	std::string ifname;
	std::string egress_port; // the switch port it hangs off
	uint64_t unicast_expected = 0, unicast_seen = 0;
	uint64_t broadcast_expected = 0, broadcast_seen = 0;
	std::string src_mac_expected; // the egress port's MAC
	std::vector<std::string> src_macs_seen;
	uint64_t udp_delivered = 0; // datagrams a UDP socket on rx-a received (unicast only)
	bool ok = false;
};

struct Step {
	std::string what;
	bool ok = false;
	std::string detail;
};

struct Report {
	std::string gen_ns, sw_ns;
	std::vector<Step> steps;
	std::vector<Receiver> receivers;
	std::vector<IfCounters> counters; // the programs' per-action counters after the traffic
	bool traffic_ok = false;          // every receiver saw exactly what was expected
	bool torn_down = false;           // namespaces deleted, pins gone
	std::string error;                // the step that failed and why
	[[nodiscard]] bool ok() const { return traffic_ok && torn_down && error.empty(); }
};

[[nodiscard]] Report run(const Options &o);

} // namespace xdpctl::demo
