// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_meta_producer: put a struct xdpctl_meta (include/xdpctl/meta.h) in data_meta, right
 * before the packet, and pass the frame. Works on any device and in any mode: the flow hash
 * (FNV-1a over the IPv4/IPv6 + UDP/TCP tuple, defined in include/xdpctl/meta_progs.h) and the
 * mark are computed here, not asked from the NIC. Consumers: bpf/tc_meta_consumer.bpf.c (TC
 * ingress of the same device), AF_XDP, a devmap egress program.
 *
 * A frame that already carries metadata (another program ran first) or arrives from a driver
 * without data_meta support leaves unchanged, counted as meta_counters[NO_ROOM] and nothing else
 * (no flow hash or mark is computed for it).
 *
 * Maps: meta_marks (ARRAY indexed by destination port -> mark, 0 = none, filled by the
 *       operator), meta_counters (per-CPU, enum xdpctl_meta_counter: the exceptions only),
 *       xdpctl_stats (per-action counters).
 * Rodata: default_mark (mark for frames meta_marks does not match; 0 = none).
 * Load: xdpctl load xdp_meta_producer IFNAME
 * Test: tests/prog_meta_test.cpp runs it through BPF_PROG_TEST_RUN and compares data_meta with
 *       the struct recomputed in C++; tests/live_meta_test.cpp attaches it to a veth with the
 *       TC consumer behind it and sends real UDP traffic.
 */
#include "lib/flow_hash.h"
#include "lib/stats.h"

SEC("xdp")
int xdp_meta_producer(struct xdp_md *ctx)
{
	struct xdpctl_meta m = {};

	/* room first: a frame that cannot carry our metadata is counted as NO_ROOM only, not also
	 * as NO_FLOW or MARKED (found by tests/fuzz/fuzz_xdp_meta_producer.cpp)
	 */
	if (meta_reserve(ctx))
		return xdpctl_count(ctx, XDP_PASS);
	meta_fill_flow(ctx, &m);
	meta_write(ctx, &m);
	return xdpctl_count(ctx, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
