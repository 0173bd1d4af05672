// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only, rejected by the verifier: a devmap egress program that reads the Ethernet header
 * without checking it against data_end (`xdpctl redirect add IN OUT --egress` must refuse it).
 * Test: tests/cli_verifier_test.cpp
 */
#include "lib/common.h"

SEC("xdp/devmap")
int verr_egress(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
