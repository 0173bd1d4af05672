// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only, rejected by the verifier: reads the Ethernet header without checking it against
 * data_end, so the access is outside the packet the verifier can prove.
 * Test: tests/cli_verifier_test.cpp
 */
#include "lib/common.h"

SEC("xdp")
int verr_pkt_oob(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
