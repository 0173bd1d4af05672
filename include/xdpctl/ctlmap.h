/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The BPF control map ABI: "[RFC][Proposal] BPF Control MAP" (shared/seeds) on today's kernels.
 *
 * A control map is created with a control type; its key is an ifindex (__u32) of the caller's
 * network namespace; get_next_key walks the netdevs in ascending ifindex order starting from
 * "no key"; lookup fills the type's value struct; update with a command in the value configures.
 * One header for BPF programs, libxdpctl and the bpf_ctlmap kernel module; the structs below
 * are emitted into BTF (program BTF and module BTF), so printers need nothing but BTF.
 *
 * Every struct starts with the same head: ifindex, command, avail. An attribute whose bit is
 * clear in `avail` could not be read on this kernel or driver: it is 0 and must not be shown as
 * a value. Fields are only ever appended, so a newer kernel module and an older tool still agree
 * on the prefix.
 */
#ifndef XDPCTL_CTLMAP_H
#define XDPCTL_CTLMAP_H

#include "types.h"

enum bpf_ctrl_type {
	BPF_CTRL_XDP_STATS = 1, /* per-netdev counters (read only) */
	BPF_CTRL_XDP_ATTR = 2, /* programs, features, rings, channels; SETUP_REDIRECT */
	BPF_CTRL_XDP_MD = 3, /* RX metadata features and the metadata BTF; SETUP_MD */
};
#define BPF_CTRL_TYPE_MAX 3

enum bpf_ctrl_cmd {
	BPF_CTRL_CMD_NONE = 0,
	BPF_CTRL_SETUP_REDIRECT = 1, /* value: struct bpf_ctrl_xdp_attr, rings.num/size */
	BPF_CTRL_SETUP_MD = 2, /* value: struct bpf_ctrl_xdp_md, enable_md */
};

/* XDP_STATS avail bits */
enum {
	BPF_CTRL_STATS_LINK = 1 << 0, /* rx/tx packets, bytes, dropped (rtnetlink link stats64) */
	BPF_CTRL_STATS_XDP_ACTIONS = 1 << 1, /* a program of the collection is attached: xdp[] */
	BPF_CTRL_STATS_XDP_ERRORS = 1 << 2, /* the tracepoint monitor runs: the error counts */
	BPF_CTRL_STATS_QSTATS = 1 << 3, /* netdev genl qstats-get answered for this device */
};

struct bpf_ctrl_action_counter {
	__u64 packets;
	__u64 bytes;
};

struct bpf_ctrl_xdp_stats {
	__u32 ifindex;
	__u32 command; /* always BPF_CTRL_CMD_NONE: the type is read only */
	__u32 avail;
	__u32 pad;
	/* the netdev's own counters */
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 rx_dropped;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 tx_dropped;
	/* per-action counters of the collection's program on this device, XDP_ABORTED..REDIRECT */
	struct bpf_ctrl_action_counter xdp[5];
	/* from the xdp: tracepoints */
	__u64 xdp_exceptions;
	__u64 xdp_redirect_errors;
	__u64 xdp_devmap_xmit_sent;
	__u64 xdp_devmap_xmit_drops;
	/* netdev genl qstats (device-wide sums) */
	__u64 qstats_rx_packets;
	__u64 qstats_rx_bytes;
	__u64 qstats_tx_packets;
	__u64 qstats_tx_bytes;
};

/* XDP_ATTR avail bits */
enum {
	BPF_CTRL_ATTR_PROGS = 1 << 0, /* prog ids and attach mode (rtnetlink IFLA_XDP) */
	BPF_CTRL_ATTR_FEATURES = 1 << 1, /* xdp_features (netdev genl dev-get) */
	BPF_CTRL_ATTR_RINGS = 1 << 2, /* ethtool rings */
	BPF_CTRL_ATTR_CHANNELS = 1 << 3, /* ethtool channels */
	BPF_CTRL_ATTR_REDIRECT_TARGET = 1 << 4, /* redirect_target_ready is known */
	BPF_CTRL_ATTR_XSK_FEATURES = 1 << 5, /* xsk_features (netdev genl dev-get, 6.8+) */
};

struct bpf_ctrl_rings {
	__u32 num; /* SETUP_REDIRECT: channels (queues) wanted; lookup: combined channels now */
	__u32 size; /* SETUP_REDIRECT: TX ring size wanted; lookup: TX ring size now */
};

struct bpf_ctrl_xdp_attr {
	__u32 ifindex;
	__u32 command; /* update: BPF_CTRL_SETUP_REDIRECT */
	__u32 avail;
	__u32 attach_mode; /* XDP_ATTACHED_NONE/DRV/SKB/HW/MULTI */
	__u32 prog_id; /* the single attached program, if one mode */
	__u32 drv_prog_id;
	__u32 skb_prog_id;
	__u32 hw_prog_id;
	__u64 xdp_features; /* NETDEV_XDP_ACT_* */
	__u64 xsk_features; /* NETDEV_XSK_FLAGS_* */
	struct bpf_ctrl_rings rings;
	__u32 rx_ring_size;
	__u32 rx_ring_max;
	__u32 tx_ring_size;
	__u32 tx_ring_max;
	__u32 combined_channels;
	__u32 combined_max;
	__u32 rx_channels;
	__u32 rx_max;
	__u32 tx_channels;
	__u32 tx_max;
	__u32 redirect_target_ready; /* 1: frames redirected here are transmitted, not dropped */
	__u32 pad;
};

/* XDP_MD avail bits */
enum {
	BPF_CTRL_MD_FEATURES = 1 << 0, /* rx_metadata_features (netdev genl dev-get) */
	BPF_CTRL_MD_STATE = 1 << 1, /* enable_md, prog_id, md_btf_* */
};

struct bpf_ctrl_xdp_md {
	__u32 ifindex;
	__u32 command; /* update: BPF_CTRL_SETUP_MD */
	__u32 avail;
	__u32 enable_md; /* update: 1 on, 0 off; lookup: the device-bound producer is attached */
	__u64 rx_metadata_features; /* NETDEV_XDP_RX_METADATA_* */
	__u32 prog_id; /* the device-bound metadata program */
	__u32 md_btf_obj_id; /* BTF object holding the metadata struct (the program's BTF) */
	__u32 md_btf_type_id; /* type id of struct xdpctl_meta in that object */
	__u32 md_size; /* bytes the program places in data_meta */
};

#endif
