// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* bench_base (benchmark only): the bare baselines our programs are measured against.
 *
 * Each program takes the same path through the kernel as one program of the collection and does
 * nothing else: no counters, no configurable miss action, no parsing the path does not need.
 * tests/bench/bench.cpp runs each interleaved with its counterpart in one run and reports
 * baseline ns / ours ns; a ratio of 1.0 means our extras (counters, options) cost nothing.
 *
 *   base_drop / base_pass         vs xdp_pass, and the drop path (a devmap miss)
 *   base_redirect_devmap(_hash)   vs xdp_redirect_devmap(_hash); the miss action is a literal
 *   base_broadcast_devmap(_hash)  vs xdp_broadcast_devmap(_hash): the bare way to broadcast, one
 *                                 devmap referenced directly, sized by the bench to the group
 *   base_egress                   vs xdp_egress: a devmap egress program that only passes
 *   base_egress_mac               vs xdp_egress with --egress-mac: writes a fixed source MAC
 *   base_meta                     vs xdp_meta_producer: same flow hash and data_meta store,
 *                                 without the mark lookup and the counters
 *   base_egress_count             diagnostic: base_egress plus one per-CPU counter update, the
 *                                 least a counting egress program can do
 *   base_meta_mark                diagnostic: base_meta plus xdp_meta_producer's mark lookup
 *   base_gen                      not a baseline: the live pipeline's generator (XDP_TX in a
 *                                 live test run transmits every frame out of the ingress veth)
 *
 * The redirect maps have the same types and sizes as the collection's (a lookup costs the same).
 * The broadcast maps are the smallest that hold the group: the kernel walks every slot (DEVMAP)
 * or bucket (DEVMAP_HASH) per frame, so their size is the cost. They are declared for 4 ports;
 * the bench sets max_entries to each group's size before load, and keys a DEVMAP by slot 0..n-1.
 */
#include "bench_meta.bpf.h"
#include "xdpctl/broadcast.h"
#include "xdpctl/stats.h"

#define DEVMAP(kind, name, size)                                    \
	struct {                                                    \
		__uint(type, kind);                                 \
		__uint(max_entries, size);                          \
		__type(key, __u32);                                 \
		__type(value, struct bpf_devmap_val);               \
	} name SEC(".maps")

DEVMAP(BPF_MAP_TYPE_DEVMAP, tx_port, XDPCTL_DEVMAP_MAX_ENTRIES);
DEVMAP(BPF_MAP_TYPE_DEVMAP_HASH, tx_port_hash, XDPCTL_DEVMAP_MAX_ENTRIES);
DEVMAP(BPF_MAP_TYPE_DEVMAP, bcast_ports, 4);
DEVMAP(BPF_MAP_TYPE_DEVMAP_HASH, bcast_ports_hash, 4);

/* the shape of xdp_meta_producer's mark map, and of every program's counters, for the
 * diagnostics
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPCTL_META_MARKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} meta_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPCTL_ACTION_MAX);
	__type(key, __u32);
	__type(value, struct xdpctl_action_stats);
} base_counters SEC(".maps");

SEC("xdp")
int base_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int base_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The drop and tx paths of the collection are a devmap miss whose action is in the flags; these
 * are the same miss with the action as a literal.
 */
SEC("xdp")
int base_miss_drop(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port_hash, ctx->ingress_ifindex, XDP_DROP);
}

SEC("xdp")
int base_miss_tx(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port_hash, ctx->ingress_ifindex, XDP_TX);
}

SEC("xdp")
int base_redirect_devmap(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port, ctx->ingress_ifindex, XDP_PASS);
}

SEC("xdp")
int base_redirect_devmap_hash(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port_hash, ctx->ingress_ifindex, XDP_PASS);
}

SEC("xdp")
int base_broadcast_devmap(struct xdp_md *ctx)
{
	return bpf_redirect_map(&bcast_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
}

SEC("xdp")
int base_broadcast_devmap_hash(struct xdp_md *ctx)
{
	return bpf_redirect_map(&bcast_ports_hash, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
}

SEC("xdp")
int base_gen(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp/devmap")
int base_egress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

const volatile __u8 egress_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };

SEC("xdp/devmap")
int base_egress_mac(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	for (int i = 0; i < ETH_ALEN; i++)
		eth->h_source[i] = egress_mac[i];
	return XDP_PASS;
}

SEC("xdp/devmap")
int base_egress_count(struct xdp_md *ctx)
{
	__u32 key = XDP_PASS;
	struct xdpctl_action_stats *c = bpf_map_lookup_elem(&base_counters, &key);

	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_PASS;
}

/* With mark, also xdp_meta_producer's mark lookup by destination port. */
static __always_inline int meta(struct xdp_md *ctx, bool mark)
{
	struct xdpctl_meta m = {};
	struct udphdr *udph;

	if (base_flow(ctx, &m, &udph))
		return XDP_PASS;
	if (mark) {
		__u32 key = bpf_ntohs(udph->dest);
		__u32 *v = bpf_map_lookup_elem(&meta_marks, &key);

		if (v && *v) {
			m.mark = *v;
			m.valid |= XDPCTL_META_MARK;
		}
	}
	base_store(ctx, &m);
	return XDP_PASS;
}

SEC("xdp")
int base_meta(struct xdp_md *ctx)
{
	return meta(ctx, false);
}

SEC("xdp")
int base_meta_mark(struct xdp_md *ctx)
{
	return meta(ctx, true);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
