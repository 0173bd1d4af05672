// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* egress_ingress (test only): the ingress side that feeds bpf/xdp_egress.bpf.c.
 *
 * Redirects every frame through a devmap whose entries carry the egress program:
 *   egress_redirect        DEVMAP_HASH tx_port, key = ingress ifindex (one egress port)
 *   egress_broadcast       DEVMAP bcast_ports, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS
 * and the same two as xdp.frags programs over maps of their own (tx_port_frags,
 * bcast_ports_frags). The entries of one devmap must all have the same frags flag, and a DEVMAP
 * (not a DEVMAP_HASH, on 6.18) is also claimed by the flag of the first program loaded that uses
 * it, so one map per flag is the only layout that always works (see the frags tests in
 * tests/prog_xdp_egress_test.cpp).
 *
 * A lookup miss drops, so a frame never reaches the stack of the ingress namespace by accident.
 * Test: tests/prog_xdp_egress_test.cpp drives it with BPF_F_TEST_XDP_LIVE_FRAMES.
 */
#include "lib/stats.h"

#define DEVMAP(kind, name)                                  \
	struct {                                            \
		__uint(type, kind);                         \
		__uint(max_entries, 64);                    \
		__type(key, __u32);                         \
		__type(value, struct bpf_devmap_val);       \
	} name SEC(".maps")

DEVMAP(BPF_MAP_TYPE_DEVMAP_HASH, tx_port);
DEVMAP(BPF_MAP_TYPE_DEVMAP_HASH, tx_port_frags);
DEVMAP(BPF_MAP_TYPE_DEVMAP, bcast_ports);
DEVMAP(BPF_MAP_TYPE_DEVMAP, bcast_ports_frags);

#define BCAST_FLAGS (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS)

SEC("xdp")
int egress_redirect(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&tx_port, ctx->ingress_ifindex, XDP_DROP));
}

SEC("xdp.frags")
int egress_redirect_frags(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&tx_port_frags, ctx->ingress_ifindex, XDP_DROP));
}

SEC("xdp")
int egress_broadcast(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&bcast_ports, 0, BCAST_FLAGS));
}

SEC("xdp.frags")
int egress_broadcast_frags(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&bcast_ports_frags, 0, BCAST_FLAGS));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
