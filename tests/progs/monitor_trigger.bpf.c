// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* monitor_trigger: test-only programs that make the xdp: tracepoints fire on purpose, so
 * tests/prog_xdp_monitor_test.cpp can check bpf/xdp_monitor.bpf.c counts them exactly.
 *
 *   monitor_verdict        frames of ethertype kEthTest (0x88b5) get rodata `verdict`, others
 *                          pass: attached natively, XDP_ABORTED or an invalid verdict fires
 *                          xdp:xdp_exception for our frames only
 *   monitor_redirect_ifindex  bpf_redirect(rodata `target_ifindex`): a missing ifindex or a
 *                          device without ndo_xdp_xmit fires xdp:xdp_redirect_err
 *   monitor_redirect_devmap   bpf_redirect_map(tx_port, 0): the devmap bulk queue flush fires
 *                          xdp:xdp_devmap_xmit
 */
#include "lib/stats.h"

#define ETH_P_TEST 0x88b5

const volatile __u32 verdict = XDP_ABORTED;
const volatile __u32 target_ifindex = 0;

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port SEC(".maps");

SEC("xdp")
int monitor_verdict(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_TEST))
		return xdpctl_count(ctx, XDP_PASS);
	if (verdict < XDPCTL_ACTION_MAX)
		return xdpctl_count(ctx, verdict);
	return verdict;
}

SEC("xdp")
int monitor_redirect_ifindex(struct xdp_md *ctx)
{
	return bpf_redirect(target_ifindex, 0);
}

SEC("xdp")
int monitor_redirect_devmap(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port, 0, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
