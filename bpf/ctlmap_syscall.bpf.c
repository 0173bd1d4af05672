// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* ctlmap_syscall: the XDP_STATS control values of every netdev of the caller's namespace in one
 * BPF_PROG_RUN, through the kfuncs of the bpf_ctlmap kernel module (kmod/).
 *
 * SEC("syscall") programs run in the calling task's context, so "the caller's namespace" is the
 * namespace of the thread that runs the program. ctlmap_dump_stats walks ifindexes after
 * args->start with bpf_ctlmap_next_ifindex() and copies up to CTLMAP_MAX_DEVS values into the
 * global array `stats` (read it through skel->bss); args->count says how many, args->err the
 * first error. ctlmap_stats_of reads one ifindex (args->start) into stats[0].
 *
 * Maps: none of its own (.bss holds the output).
 * Load: only where bpf_ctlmap is loaded (the kfuncs resolve against its module BTF; elsewhere
 *       loading fails with ENOENT/ESRCH). Run with bpf_prog_test_run_opts(), ctx_in = &args.
 * Test: tests/kmod/ctlmap_test.cpp (in the qemu lane) compares it with control map lookups.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "xdpctl/ctlmap.h"

#define CTLMAP_MAX_DEVS 64

/* exported by bpf_ctlmap for BPF_PROG_TYPE_SYSCALL */
extern __u32 bpf_ctlmap_next_ifindex(__u32 ifindex) __ksym;
extern int bpf_ctlmap_xdp_stats(__u32 ifindex, void *out, __u32 out__sz) __ksym;

struct ctlmap_args {
	__u32 start; /* walk the ifindexes after this one (0: from the first) */
	__u32 count; /* out: values written to stats[] */
	int err; /* out: 0 or the first kfunc error (-errno) */
};

struct bpf_ctrl_xdp_stats stats[CTLMAP_MAX_DEVS];

SEC("syscall")
int ctlmap_dump_stats(struct ctlmap_args *args)
{
	__u32 ifindex = args->start, n = 0;
	int i, err;

	args->err = 0;
	for (i = 0; i < CTLMAP_MAX_DEVS; i++) {
		ifindex = bpf_ctlmap_next_ifindex(ifindex);
		if (!ifindex)
			break;
		err = bpf_ctlmap_xdp_stats(ifindex, &stats[i], sizeof(stats[i]));
		if (err) {
			args->err = err;
			break;
		}
		n++;
	}
	args->count = n;
	return 0;
}

SEC("syscall")
int ctlmap_stats_of(struct ctlmap_args *args)
{
	args->err = bpf_ctlmap_xdp_stats(args->start, &stats[0], sizeof(stats[0]));
	args->count = args->err ? 0 : 1;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
