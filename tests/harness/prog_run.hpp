// BPF_PROG_TEST_RUN for XDP and TC programs, and readers for the collection's shared counters.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <array>
#include <cstdint>

#include "packet.hpp"
#include "xdpctl/compat.h"
#include "xdpctl/stats.h"

namespace xt {

struct XdpRun {
	int err = 0;          // bpf_prog_test_run_opts() return (-errno)
	uint32_t retval = 0;  // the XDP verdict
	Bytes data;           // the frame after the program (empty in live mode)
	Bytes meta;           // data_meta after the program
	uint32_t duration = 0;
};

struct XdpRunOpts {
	Bytes meta;                  // data_meta handed in (multiple of 4, <= 255 bytes)
	uint32_t ingress_ifindex = 0;
	uint32_t rx_queue = 0;
	uint32_t repeat = 1;
	bool live = false;           // BPF_F_TEST_XDP_LIVE_FRAMES: redirects really transmit
	uint32_t batch_size = 0;     // live mode only
};

XdpRun run_xdp(int prog_fd, const Bytes &pkt, const XdpRunOpts &o = {});

// Puts a port into a group devmap the way the loader keys it (include/xdpctl/broadcast.h): a
// DEVMAP_HASH by the port's ifindex, a DEVMAP at its first free slot (dense slots; the port is
// the value's ifindex). prog_fd: an egress program, or -1. Returns the key written, or -errno.
int group_add_port(const struct bpf_map *m, uint32_t ifindex, int prog_fd = -1);
inline XdpRun run_xdp(const struct bpf_program *p, const Bytes &pkt, const XdpRunOpts &o = {})
{
	return run_xdp(bpf_program__fd(p), pkt, o);
}

struct TcRun {
	int err = 0;
	int retval = 0; // TC_ACT_*
	Bytes data;
};
// Runs a SEC("tc") program on pkt. cls_bpf's test run cannot hand in data_meta, so consumers of
// XDP metadata are proven with real traffic (a producer attached on the same device) instead.
TcRun run_tc(int prog_fd, const Bytes &pkt, uint32_t ifindex = 1);

using ActionCounters = std::array<struct xdpctl_action_stats, XDPCTL_ACTION_MAX>;

// The xdpctl_stats map summed over all possible CPUs, indexed by XDP action.
ActionCounters read_action_stats(int map_fd);
// Sum over all possible CPUs of a per-CPU array of __u64 at `key` (0 when the lookup fails).
uint64_t percpu_u64(int map_fd, uint32_t key);
inline ActionCounters read_action_stats(const struct bpf_map *m)
{
	return read_action_stats(bpf_map__fd(m));
}

// Convenience for tables: expected counters as {action, packets, bytes}.
struct Count {
	uint32_t action;
	uint64_t packets;
	uint64_t bytes;
};

} // namespace xt
