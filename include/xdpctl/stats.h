/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The one per-action counter layout every program of the collection keeps.
 *
 * Each program has a BPF_MAP_TYPE_PERCPU_ARRAY named XDPCTL_STATS_MAP, key = the XDP action
 * (XDP_ABORTED..XDP_REDIRECT), value = struct xdpctl_action_stats per CPU. Readers sum over CPUs.
 * Bytes are the frame length (data_end - data) at the moment the verdict is taken.
 */
#ifndef XDPCTL_STATS_H
#define XDPCTL_STATS_H

#include "types.h"

#define XDPCTL_STATS_MAP "xdpctl_stats"
/* const volatile __u8 in a program's .rodata: 0 when it was loaded with counting off (the map
 * then exists but stays zero). Absent from programs that keep no xdpctl counters.
 */
#define XDPCTL_STATS_SWITCH "xdpctl_stats_on"
/* XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT */
#define XDPCTL_ACTION_MAX 5

struct xdpctl_action_stats {
	__u64 packets;
	__u64 bytes;
};

#endif
