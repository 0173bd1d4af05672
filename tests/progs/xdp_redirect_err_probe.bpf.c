// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only: counts xdp:xdp_redirect_err for one XDP program (rodata prog_id) and keeps the last
 * errno, so a test proves that a redirect was refused, and why, rather than only that nothing
 * arrived. Tracepoints fire for every namespace; the program id makes the count ours alone.
 */
#include "lib/common.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 prog_id;

__u64 errors;
int last_err;

SEC("tp_btf/xdp_redirect_err")
int BPF_PROG(xdp_redirect_err_probe, const struct net_device *dev, const struct bpf_prog *xdp,
	     const void *tgt, int err, enum bpf_map_type map_type, __u32 map_id, __u32 index)
{
	/* struct bpf_prog is the kernel's own: read through CO-RE (lib/common.h says why) */
	if (BPF_CORE_READ(xdp, aux, id) != prog_id)
		return 0;
	__sync_fetch_and_add(&errors, 1);
	last_err = err;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
