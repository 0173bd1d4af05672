// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_pass: pass every frame to the stack, counting it.
 *
 * Why it exists: a veth only receives XDP_REDIRECTed frames when its peer runs an XDP program
 * (or has GRO on). Attaching this to the peer makes it a ready redirect target at no cost.
 *
 * Maps: xdpctl_stats (per-CPU per-action counters, include/xdpctl/stats.h).
 * Load: xdpctl load xdp_pass IFNAME
 * Test: tests/prog_xdp_pass_test.cpp runs it through BPF_PROG_TEST_RUN and checks the frame
 *       comes back unchanged with XDP_PASS counted.
 */
#include "lib/stats.h"

SEC("xdp")
int xdp_pass_prog(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
