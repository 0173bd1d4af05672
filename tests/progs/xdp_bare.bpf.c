// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only: the smallest XDP program a user might load from an object file of their own, with
 * no xdpctl_stats map (no <xdpctl/bpf/stats.h>), so xdpctl keeps no counters for it. Every lane
 * kernel verifies it (a bigger test program such as fuzz_capture is refused by 6.1's verifier).
 * Test: tests/cli_no_stats_test.cpp
 */
#include "lib/common.h"

SEC("xdp")
int xdp_bare(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
