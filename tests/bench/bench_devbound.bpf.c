// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* bench_devbound (benchmark only): the bare baseline of the device-bound metadata program
 * (bpf/xdp_meta_kfunc.bpf.c), measured against it by tests/bench/devbound.cpp.
 *
 *   base_meta_kfunc   the same flow hash and data_meta store as bench_base's base_meta, plus the
 *                     same three RX metadata kfunc calls, their answers stored in the struct;
 *                     no mark lookup, no counters (xdp_meta_kfunc keeps per-action,
 *                     meta_counters and per-kfunc counters, and looks up the mark)
 *
 * Device-bound like xdp_meta_kfunc: the runner binds it to the device before load
 * (xdpctl::bind_to_device) and clears the rodata switch of every kfunc the kernel lacks
 * (xdpctl::switch_meta_kfuncs, which is why the switches have the same names). A file of its
 * own rather than a program in bench_base: a device-bound program cannot share an object with
 * programs that are loaded unbound.
 */
#include "lib/parse.h"
#include "xdpctl/meta.h"
#include "xdpctl/meta_progs.h"

extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym __weak;
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym __weak;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto,
					__u16 *vlan_tci) __ksym __weak;

const volatile __u8 has_rx_hash = 1;
const volatile __u8 has_rx_timestamp = 1;
const volatile __u8 has_rx_vlan_tag = 1;

/* IPv4/UDP only: the benchmark frame is one. FNV-1a over the 13 tuple bytes as
 * include/xdpctl/meta_progs.h defines it (bench_base's base_meta, copied).
 */
SEC("xdp")
int base_meta_kfunc(struct xdp_md *ctx)
{
	struct cursor c = { .pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end };
	enum xdp_rss_hash_type rss_type = 0;
	struct xdpctl_meta m = {}, *dst;
	struct eth_info eth;
	struct udphdr *udph;
	struct iphdr *iph;
	__u8 t[13];
	__u32 h = XDPCTL_FNV1A_BASIS;
	int i;

	if (parse_eth(&c, &eth) != ETH_P_IP || parse_ipv4(&c, &iph) != IPPROTO_UDP ||
	    parse_udp(&c, &udph) < 0)
		return XDP_PASS;
	__builtin_memcpy(t, &iph->saddr, 4);
	__builtin_memcpy(t + 4, &iph->daddr, 4);
	t[8] = IPPROTO_UDP;
	__builtin_memcpy(t + 9, &udph->source, 4);
#pragma unroll
	for (i = 0; i < (int)sizeof(t); i++) {
		h ^= t[i];
		h *= XDPCTL_FNV1A_PRIME;
	}
	m.flow_hash = h;
	m.valid = XDPCTL_META_FLOW_HASH;

	if (has_rx_hash && !bpf_xdp_metadata_rx_hash(ctx, &m.rx_hash, &rss_type))
		m.valid |= XDPCTL_META_RX_HASH;
	m.rx_hash_type = rss_type;
	if (has_rx_timestamp && !bpf_xdp_metadata_rx_timestamp(ctx, &m.rx_timestamp))
		m.valid |= XDPCTL_META_RX_TIMESTAMP;
	if (has_rx_vlan_tag && !bpf_xdp_metadata_rx_vlan_tag(ctx, &m.rx_vlan_proto, &m.rx_vlan_tci))
		m.valid |= XDPCTL_META_RX_VLAN;

	m.magic = XDPCTL_META_MAGIC;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(m)))
		return XDP_PASS;
	dst = (void *)(long)ctx->data_meta;
	if ((void *)(dst + 1) > (void *)(long)ctx->data)
		return XDP_PASS;
	__builtin_memcpy(dst, &m, sizeof(m));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
