/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Counters kept by bpf/xdp_monitor.bpf.c on the xdp: tracepoints, read by `xdpctl stats` and the
 * control map's XDP_STATS. Tracepoints fire for every namespace; the monitor counts only the
 * network namespace whose inode it was loaded with (rodata netns_ino), so keys are ifindexes of
 * that namespace.
 */
#ifndef XDPCTL_MONITOR_H
#define XDPCTL_MONITOR_H

#include "types.h"

/* map "xdpctl_mon_exc": xdp:xdp_exception, key {ifindex, XDP action}, value __u64 count */
/* map "xdpctl_mon_rerr": xdp:xdp_redirect_err (and _map_err where the kernel has it),
 *   key {ifindex of the device the program ran on, positive errno}, value __u64 count */
struct xdpctl_mon_key {
	__u32 ifindex;
	__u32 code;
};

/* map "xdpctl_mon_xmit": xdp:xdp_devmap_xmit, key {from_ifindex, to_ifindex} */
struct xdpctl_mon_xmit_key {
	__u32 from_ifindex;
	__u32 to_ifindex;
};

struct xdpctl_mon_xmit {
	__u64 sent; /* frames the egress driver accepted */
	__u64 drops; /* frames it did not */
	__u64 errors; /* ndo_xdp_xmit calls that returned an error */
};

#endif
