// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only devmap egress program: stamps the egress ifindex into the last byte of the source MAC,
 * so a test sees that the program set in one devmap entry (struct bpf_devmap_val.bpf_prog.fd)
 * ran on that port's copy, and only there. Not frags-aware, like the programs whose devmaps it
 * goes into (the kernel refuses an entry whose frags flag differs from the map owner's).
 */
#include "lib/common.h"

SEC("xdp/devmap")
int xdp_devmap_stamp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	eth->h_source[5] = ctx->egress_ifindex & 0xff;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
