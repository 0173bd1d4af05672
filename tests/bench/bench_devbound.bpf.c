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
#include "bench_meta.bpf.h"
#include "lib/rx_meta_kfuncs.h"

SEC("xdp")
int base_meta_kfunc(struct xdp_md *ctx)
{
	enum xdp_rss_hash_type rss_type = 0;
	struct xdpctl_meta m = {};
	struct udphdr *udph;

	if (base_flow(ctx, &m, &udph))
		return XDP_PASS;
	if (has_rx_hash && !bpf_xdp_metadata_rx_hash(ctx, &m.rx_hash, &rss_type))
		m.valid |= XDPCTL_META_RX_HASH;
	m.rx_hash_type = rss_type;
	if (has_rx_timestamp && !bpf_xdp_metadata_rx_timestamp(ctx, &m.rx_timestamp))
		m.valid |= XDPCTL_META_RX_TIMESTAMP;
	if (has_rx_vlan_tag && !bpf_xdp_metadata_rx_vlan_tag(ctx, &m.rx_vlan_proto, &m.rx_vlan_tci))
		m.valid |= XDPCTL_META_RX_VLAN;
	base_store(ctx, &m);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
