/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Configuration and counters of the devmap egress program (bpf/xdp_egress.bpf.c).
 *
 * A devmap egress program runs after XDP_REDIRECT, once per frame and egress port, on the way
 * into the egress device's transmit path. Each devmap entry names its own program
 * (struct bpf_devmap_val.bpf_prog.fd), so xdp_egress is loaded once per egress port, and the
 * port's configuration is that instance's rodata:
 *
 *   "port_cfg"         const volatile struct xdpctl_egress_port, set before load. The verifier
 *                      knows its value and drops the code of every action the port does not
 *                      use: a frame pays for no configuration lookup. All zero: the frame
 *                      passes unchanged (and is counted).
 *
 * The instance's counters are the port's (per CPU, readers sum):
 *
 *   "xdpctl_stats"     per action (include/xdpctl/stats.h): XDP_PASS = frames the port
 *                      transmits, bytes as transmitted (after the VLAN action); XDP_DROP =
 *                      frames dropped, bytes as they came.
 *   "egress_counters"  BPF_MAP_TYPE_PERCPU_ARRAY of __u64, key enum xdpctl_egress_counter:
 *                      why frames were dropped, and tags popped. Touched only on those paths.
 *                      Tags pushed are not counted apart: on a port whose vlan_action is
 *                      PUSH, every transmitted frame got one.
 *
 * A new configuration for a port is a new instance written into the devmap entry, which the
 * kernel swaps atomically. Order of work on a frame: drop policy (judged on the frame as it
 * arrived), VLAN action, then the source MAC.
 */
#ifndef XDPCTL_EGRESS_H
#define XDPCTL_EGRESS_H

#include "types.h"

#define XDPCTL_EGRESS_CFG_VAR "port_cfg"
#define XDPCTL_EGRESS_COUNTERS_MAP "egress_counters"

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
	__u8 src_mac[6]; /* with set_src_mac: every frame's source MAC, the egress device's address */
	__u16 vlan_tci; /* host order, PCP(3) DEI(1) VID(12): the tag XDPCTL_EGRESS_VLAN_PUSH adds */
	__u16 vlan_proto; /* host order TPID for PUSH: 0x8100 (0 means 0x8100) or 0x88a8 */
	__u8 vlan_action; /* enum xdpctl_egress_vlan */
	__u8 drop; /* enum xdpctl_egress_drop bits */
	__u8 set_src_mac; /* 1: write src_mac into every frame (xdpctl ... --egress-mac) */
	__u8 reserved[3];
};

enum xdpctl_egress_counter {
	XDPCTL_EGRESS_CNT_POLICY_DROP = 0, /* dropped by the port's drop policy */
	XDPCTL_EGRESS_CNT_MALFORMED, /* dropped: the tag POP needs is cut short */
	XDPCTL_EGRESS_CNT_ERROR, /* dropped: bpf_xdp_adjust_head() refused (no headroom) */
	XDPCTL_EGRESS_CNT_VLAN_POPPED, /* transmitted with its outer tag popped */
	XDPCTL_EGRESS_CNT_MAX,
};

#ifdef __cplusplus
static_assert(sizeof(struct xdpctl_egress_port) == 16, "port_cfg layout is ABI");
#else
_Static_assert(sizeof(struct xdpctl_egress_port) == 16, "port_cfg layout is ABI");
#endif

#endif
