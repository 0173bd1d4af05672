/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Per-port configuration and counters of the devmap egress program (bpf/xdp_egress.bpf.c).
 *
 * A devmap egress program runs after XDP_REDIRECT, once per frame and egress port, on the way
 * into the egress device's transmit path; ctx->egress_ifindex says which port. Two maps, both
 * keyed by that egress ifindex (__u32, of the namespace the devmap entries live in):
 *
 *   "egress_ports"  BPF_MAP_TYPE_HASH, value struct xdpctl_egress_port. Written by the loader:
 *                   the port's own MAC, its VLAN action and its drop policy. A port without an
 *                   entry is passed through unchanged (and counted as unconfigured).
 *   "egress_stats"  BPF_MAP_TYPE_PERCPU_HASH, value struct xdpctl_egress_stats per CPU. Created
 *                   by the program on a port's first frame; readers sum over CPUs.
 *
 * Order of work on a frame: drop policy (judged on the frame as it arrived), VLAN action, then
 * the source MAC. Fields are only ever appended.
 */
#ifndef XDPCTL_EGRESS_H
#define XDPCTL_EGRESS_H

#include "types.h"

#define XDPCTL_EGRESS_PORTS_MAP "egress_ports"
#define XDPCTL_EGRESS_STATS_MAP "egress_stats"
#define XDPCTL_EGRESS_MAX_PORTS 256

enum xdpctl_egress_vlan {
	XDPCTL_EGRESS_VLAN_NONE = 0, /* tags are left as they are */
	/* a new outermost tag {vlan_proto, vlan_tci}, also on a frame that already has one (QinQ) */
	XDPCTL_EGRESS_VLAN_PUSH = 1,
	/* the outermost 802.1Q/802.1ad tag is removed; an untagged frame is left alone */
	XDPCTL_EGRESS_VLAN_POP = 2,
};

/* Drop policy bits, judged on the frame as it reached the egress program. */
enum xdpctl_egress_drop {
	XDPCTL_EGRESS_DROP_ALL = 1 << 0, /* the port is closed */
	XDPCTL_EGRESS_DROP_UNTAGGED = 1 << 1, /* only tagged frames leave (a trunk port) */
	XDPCTL_EGRESS_DROP_TAGGED = 1 << 2, /* only untagged frames leave */
};

struct xdpctl_egress_port {
	__u8 src_mac[6]; /* written into every frame's source MAC: the egress device's address */
	__u16 vlan_tci; /* host order, PCP(3) DEI(1) VID(12): the tag XDPCTL_EGRESS_VLAN_PUSH adds */
	__u16 vlan_proto; /* host order TPID for PUSH: 0x8100 (0 means 0x8100) or 0x88a8 */
	__u8 vlan_action; /* enum xdpctl_egress_vlan */
	__u8 drop; /* enum xdpctl_egress_drop bits */
};

struct xdpctl_egress_stats {
	__u64 packets; /* frames the port transmits (XDP_PASS), configured or not */
	__u64 bytes; /* their length as transmitted, after the VLAN action */
	__u64 drops; /* frames dropped by the port's drop policy */
	__u64 malformed; /* frames dropped because the tag POP needs is cut short */
	__u64 errors; /* frames dropped because bpf_xdp_adjust_head() refused (no headroom) */
	__u64 vlan_pushed; /* frames a tag was pushed onto */
	__u64 vlan_popped; /* frames a tag was popped from */
	__u64 unconfigured; /* frames passed unchanged: no egress_ports entry for the port */
};

#ifdef __cplusplus
static_assert(sizeof(struct xdpctl_egress_port) == 12, "egress_ports value size is ABI");
#else
_Static_assert(sizeof(struct xdpctl_egress_port) == 12, "egress_ports value size is ABI");
#endif

#endif
