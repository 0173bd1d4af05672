// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* ctl_redirect (test only): redirects every frame to the one port in devmap ctl_tx_port (key 0).
 *
 * Why it exists: tests/ctl_redirect_test.cpp needs live XDP_REDIRECT traffic into a veth to show
 * that a target whose peer is not ready delivers nothing and that the control map's
 * SETUP_REDIRECT makes the same traffic arrive.
 *
 * Maps: ctl_tx_port (DEVMAP, key 0 = the egress ifindex), xdpctl_stats (per-action counters).
 * Load: test only, through its skeleton; run with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES.
 * Test: tests/ctl_redirect_test.cpp.
 */
#include "lib/stats.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ctl_tx_port SEC(".maps");

SEC("xdp")
int ctl_redirect(struct xdp_md *ctx)
{
	/* a missing entry gives XDP_ABORTED (flags 0), counted as such */
	return xdpctl_count(ctx, bpf_redirect_map(&ctl_tx_port, 0, 0));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
