// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only, rejected by the verifier: a loop that waits for the ingress ifindex to change,
 * which nothing in it does, so the verifier finds it back in the same state ("infinite loop
 * detected"). A loop bounded by an unknown number instead walks to the verifier's limit of
 * 1M processed instructions, a minute per load with the log on: too slow for a test.
 * Test: tests/cli_verifier_test.cpp
 */
#include "lib/common.h"

SEC("xdp")
int verr_loop(struct xdp_md *ctx)
{
	__u32 n = ctx->ingress_ifindex;

	while (n != 1)
		asm volatile("" : "+r"(n));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
