// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only, rejected by the verifier: calls bpf_skb_load_bytes, a helper of socket-buffer
 * programs that XDP programs do not have.
 * Test: tests/cli_verifier_test.cpp
 */
#include "lib/common.h"

SEC("xdp")
int verr_helper(struct xdp_md *ctx)
{
	__u16 proto = 0;

	if (bpf_skb_load_bytes(ctx, 12, &proto, sizeof(proto)))
		return XDP_ABORTED;
	return proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
