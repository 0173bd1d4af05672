/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What the metadata programs compute in BPF, so that it works on any device: the flow hash
 * and the mark of include/xdpctl/meta_progs.h, and the meta_counters every producer keeps.
 *
 * Included by xdp_meta_producer and xdp_meta_kfunc; each gets its own meta_marks map,
 * meta_counters map and default_mark rodata.
 */
#ifndef XDPCTL_BPF_FLOW_HASH_H
#define XDPCTL_BPF_FLOW_HASH_H

#include "parse.h"
#include "xdpctl/meta.h"
#include "xdpctl/meta_progs.h"

/* Mark used when meta_marks has no entry for the destination port (0: no mark). */
const volatile __u32 default_mark = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPCTL_META_MARKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} meta_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPCTL_METACNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} meta_counters SEC(".maps");

#define XDPCTL_TUPLE_MAX 37 /* IPv6: 16 + 16 + 1 + 2 + 2 */

static __always_inline __u32 fnv1a(const __u8 *b, int len)
{
	__u32 h = XDPCTL_FNV1A_BASIS;
	int i;

#pragma unroll
	for (i = 0; i < XDPCTL_TUPLE_MAX; i++) {
		if (i >= len)
			break;
		h ^= b[i];
		h *= XDPCTL_FNV1A_PRIME;
	}
	return h;
}

/* Copies the ports of a complete UDP/TCP header to t (network order; zeros for any other
 * protocol); returns the destination port in host order, 0 when the protocol has no ports, -1
 * when its header is cut off.
 */
static __always_inline int tuple_ports(struct cursor *c, int proto, __u8 *t)
{
	struct udphdr *udph;
	struct tcphdr *tcph;

	if (proto == IPPROTO_UDP) {
		if (parse_udp(c, &udph) < 0)
			return -1;
		__builtin_memcpy(t, &udph->source, 4);
		return bpf_ntohs(udph->dest);
	}
	if (proto == IPPROTO_TCP) {
		if (parse_tcp(c, &tcph) < 0)
			return -1;
		__builtin_memcpy(t, &tcph->source, 4);
		return bpf_ntohs(tcph->dest);
	}
	__builtin_memset(t, 0, 4);
	return 0;
}

/* Fills flow_hash and mark (and their valid bits) from the frame's headers. */
static __always_inline void meta_fill_flow(struct xdp_md *ctx, struct xdpctl_meta *m)
{
	struct cursor c = { .pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end };
	/* every byte hashed is written below: no zeroing of all 37 on every frame */
	__u8 t[XDPCTL_TUPLE_MAX];
	struct eth_info eth;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	int proto, dport = 0, len;
	__u32 *mark;

	switch (parse_eth(&c, &eth)) {
	case ETH_P_IP:
		proto = parse_ipv4(&c, &iph);
		if (proto < 0)
			goto no_flow;
		__builtin_memcpy(t, &iph->saddr, 4);
		__builtin_memcpy(t + 4, &iph->daddr, 4);
		t[8] = proto;
		len = 13;
		/* a fragment carries no (or not its own) L4 header: hash addresses only */
		if (!(iph->frag_off & bpf_htons(0x3fff)))
			dport = tuple_ports(&c, proto, t + 9);
		else
			__builtin_memset(t + 9, 0, 4);
		break;
	case ETH_P_IPV6:
		proto = parse_ipv6(&c, &ip6h);
		if (proto < 0)
			goto no_flow;
		__builtin_memcpy(t, &ip6h->saddr, 16);
		__builtin_memcpy(t + 16, &ip6h->daddr, 16);
		t[32] = proto;
		len = 37;
		dport = tuple_ports(&c, proto, t + 33);
		break;
	default:
		goto no_flow;
	}
	if (dport < 0)
		goto no_flow;

	/* a constant length per family: each loop unrolls to exactly its bytes, no compare per byte */
	m->flow_hash = len == 13 ? fnv1a(t, 13) : fnv1a(t, XDPCTL_TUPLE_MAX);
	m->valid |= XDPCTL_META_FLOW_HASH;
	if (dport) {
		__u32 key = dport;

		mark = bpf_map_lookup_elem(&meta_marks, &key);
		if (mark && *mark) {
			m->mark = *mark;
			m->valid |= XDPCTL_META_MARK;
			percpu_inc(&meta_counters, XDPCTL_METACNT_MARKED);
			return;
		}
	}
	goto default_mark;

no_flow:
	percpu_inc(&meta_counters, XDPCTL_METACNT_NO_FLOW);
default_mark:
	if (default_mark) {
		m->mark = default_mark;
		m->valid |= XDPCTL_META_MARK;
		percpu_inc(&meta_counters, XDPCTL_METACNT_MARKED);
	}
}

/* Places *m (magic set here) in data_meta, right before the packet. Returns 0, or -1 when an
 * earlier program already put metadata there (left as it is: ours would not be right before
 * the packet, and before 6.x kernels data_meta holds only 32 bytes) or the driver has no room:
 * the frame then goes on without our metadata.
 */
/* Makes room for a struct xdpctl_meta in data_meta: 0, or -1 (counted as NO_ROOM) when the frame
 * already carries metadata (another program ran first) or the driver has no room for it.
 */
static __always_inline int meta_reserve(struct xdp_md *ctx)
{
	if ((void *)(long)ctx->data_meta < (void *)(long)ctx->data)
		goto no_room;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xdpctl_meta)))
		goto no_room;
	return 0;
no_room:
	percpu_inc(&meta_counters, XDPCTL_METACNT_NO_ROOM);
	return -1;
}

/* Writes m into the room meta_reserve() made. */
static __always_inline void meta_write(struct xdp_md *ctx, struct xdpctl_meta *m)
{
	/* adjust_meta invalidated every packet pointer: reload and prove the room to the verifier */
	struct xdpctl_meta *dst = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;

	if ((void *)(dst + 1) > data)
		return;
	m->magic = XDPCTL_META_MAGIC;
	__builtin_memcpy(dst, m, sizeof(*m));
}

/* Both at once, for a program that computes m before it knows whether there is room. */
static __always_inline int meta_store(struct xdp_md *ctx, struct xdpctl_meta *m)
{
	if (meta_reserve(ctx))
		return -1;
	meta_write(ctx, m);
	return 0;
}

#endif
