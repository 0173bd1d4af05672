// Reference for the metadata programs (bpf/xdp_meta_*.bpf.c, bpf/tc_meta_consumer.bpf.c),
// written from include/xdpctl/meta_progs.h and not from the BPF code: the flow hash of a
// described tuple, the exact struct xdpctl_meta bytes a producer must leave in data_meta, and
// readers for the programs' per-CPU counters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "packet.hpp"
#include "xdpctl/meta.h"
#include "xdpctl/meta_progs.h"

namespace xt {

// A flow as the hash sees it: addresses as text (IPv4 or IPv6), ports 0 when the protocol has
// none (ICMP) or the frame is a fragment.
struct FlowTuple {
	std::string src, dst;
	uint8_t proto = 0;
	uint16_t sport = 0, dport = 0;
};

uint32_t fnv1a(const Bytes &b);
// FNV-1a over saddr, daddr, protocol, sport, dport in network order (13 or 37 bytes).
uint32_t flow_hash(const FlowTuple &t);

// The struct a producer writes: flow hash (valid when a tuple is given), mark (valid when
// given), magic, no RX metadata.
struct xdpctl_meta producer_meta(const std::optional<FlowTuple> &flow, std::optional<uint32_t> mark);
Bytes meta_bytes(const struct xdpctl_meta &m);
std::string describe(const struct xdpctl_meta &m);

struct xdpctl_kfunc_counters kfunc_counters(int map_fd, uint32_t kfunc);

} // namespace xt
