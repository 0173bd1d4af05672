// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only stand-in for the collection's redirect program, so the loader's devmap API and the
 * CLI can be tested before bpf/xdp_redirect.bpf.c lands: the same map names and layout as the
 * contract (tx_port: DEVMAP, key = ingress ifindex, value = struct bpf_devmap_val), plus devmap
 * egress programs with and without frags.
 *
 * Load: xdpctl load build/bpf/loader_devmap_test.bpf.o IFNAME; xdpctl redirect add IN OUT
 * Test: tests/loader_devmap_test.cpp, tests/cli_test.cpp
 */
#include "lib/stats.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port SEC(".maps");

SEC("xdp")
int test_redirect(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&tx_port, ctx->ingress_ifindex, XDP_PASS));
}

SEC("xdp/devmap")
int test_egress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp.frags/devmap")
int test_egress_frags(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int test_tc(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
