// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* fuzz_capture (test only): records every frame a veth peer receives, byte for byte, into a ring
 * buffer and drops it. The fuzzers (tests/fuzz/) attach it to the peers of the ports a program
 * under test redirects or broadcasts to: it makes each port a ready redirect target (a veth
 * transmits XDP frames only when its peer runs XDP) and shows exactly what left each port, before
 * any stack (VLAN untagging, GRO) could change or drop it. Frames longer than
 * FUZZ_CAPTURE_MAX are recorded cut to that length, with their real length in `len`
 * (fuzz_capture.h).
 */
#include "lib/common.h"
#include "fuzz_capture.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} frames SEC(".maps");

SEC("xdp")
int fuzz_capture(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	struct fuzz_frame *f = bpf_ringbuf_reserve(&frames, sizeof(*f), 0);
	__u32 n = len;

	if (!f)
		return XDP_DROP;
	f->ifindex = ctx->ingress_ifindex;
	f->len = len;
	if (n > FUZZ_CAPTURE_MAX)
		n = FUZZ_CAPTURE_MAX;
	if (n < 1 || bpf_xdp_load_bytes(ctx, 0, f->data, n) < 0) {
		bpf_ringbuf_discard(f, 0);
		return XDP_DROP;
	}
	bpf_ringbuf_submit(f, 0);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
