/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What the metadata baselines (bench_base's base_meta*, bench_devbound's base_meta_kfunc) do
 * and nothing more: the flow hash of an IPv4/UDP frame, FNV-1a over the 13 tuple bytes as
 * include/xdpctl/meta_progs.h defines it (the benchmark frame is one), and the data_meta store.
 */
#ifndef XDPCTL_BENCH_META_BPF_H
#define XDPCTL_BENCH_META_BPF_H

#include "lib/parse.h"
#include "xdpctl/meta.h"
#include "xdpctl/meta_progs.h"

/* m->flow_hash and its valid bit; the UDP header in *udp. -1 for any frame but IPv4/UDP. */
static __always_inline int base_flow(struct xdp_md *ctx, struct xdpctl_meta *m, struct udphdr **udp)
{
	struct cursor c = { .pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end };
	struct eth_info eth;
	struct iphdr *iph;
	__u32 h = XDPCTL_FNV1A_BASIS;
	__u8 t[13];
	int i;

	if (parse_eth(&c, &eth) != ETH_P_IP || parse_ipv4(&c, &iph) != IPPROTO_UDP || parse_udp(&c, udp) < 0)
		return -1;
	__builtin_memcpy(t, &iph->saddr, 4);
	__builtin_memcpy(t + 4, &iph->daddr, 4);
	t[8] = IPPROTO_UDP;
	__builtin_memcpy(t + 9, &(*udp)->source, 4);
#pragma unroll
	for (i = 0; i < (int)sizeof(t); i++) {
		h ^= t[i];
		h *= XDPCTL_FNV1A_PRIME;
	}
	m->flow_hash = h;
	m->valid |= XDPCTL_META_FLOW_HASH;
	return 0;
}

/* *m, magic set here, into data_meta right before the packet. */
static __always_inline void base_store(struct xdp_md *ctx, struct xdpctl_meta *m)
{
	struct xdpctl_meta *dst;

	m->magic = XDPCTL_META_MAGIC;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return;
	dst = (void *)(long)ctx->data_meta;
	if ((void *)(dst + 1) > (void *)(long)ctx->data)
		return;
	__builtin_memcpy(dst, m, sizeof(*m));
}

#endif
