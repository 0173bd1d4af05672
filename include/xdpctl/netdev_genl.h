/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The generic netlink "netdev" family (6.3+: dev-get; 6.10+: qstats-get). Debian bookworm's 6.1
 * uapi has no linux/netdev.h, so the constants the control map uses are defined here with the
 * values of the kernel's include/uapi/linux/netdev.h (checked against this machine's kernel BTF:
 * enum netdev_xdp_act, netdev_xdp_rx_metadata, netdev_xsk_flags, NETDEV_A_DEV_*,
 * NETDEV_A_QSTATS_*, NETDEV_CMD_*). Every value is ABI: it never changes once a kernel ships it.
 * A newer linux/netdev.h included first wins.
 */
#ifndef XDPCTL_NETDEV_GENL_H
#define XDPCTL_NETDEV_GENL_H

#ifndef NETDEV_FAMILY_NAME
#define NETDEV_FAMILY_NAME "netdev"
#define NETDEV_FAMILY_VERSION 1

/* xdp-features (NETDEV_A_DEV_XDP_FEATURES, u64 bit set) */
enum netdev_xdp_act {
	NETDEV_XDP_ACT_BASIC = 1, /* XDP_PASS/DROP/ABORTED/TX */
	NETDEV_XDP_ACT_REDIRECT = 2, /* the driver handles XDP_REDIRECT from its RX */
	NETDEV_XDP_ACT_NDO_XMIT = 4, /* frames redirected to this device are transmitted */
	NETDEV_XDP_ACT_XSK_ZEROCOPY = 8,
	NETDEV_XDP_ACT_HW_OFFLOAD = 16,
	NETDEV_XDP_ACT_RX_SG = 32,
	NETDEV_XDP_ACT_NDO_XMIT_SG = 64,
};

/* xdp-rx-metadata-features (NETDEV_A_DEV_XDP_RX_METADATA_FEATURES, u64 bit set) */
enum netdev_xdp_rx_metadata {
	NETDEV_XDP_RX_METADATA_TIMESTAMP = 1, /* bpf_xdp_metadata_rx_timestamp() */
	NETDEV_XDP_RX_METADATA_HASH = 2, /* bpf_xdp_metadata_rx_hash() */
	NETDEV_XDP_RX_METADATA_VLAN_TAG = 4, /* bpf_xdp_metadata_rx_vlan_tag() */
};

/* xsk-features (NETDEV_A_DEV_XSK_FEATURES, u64 bit set) */
enum netdev_xsk_flags {
	NETDEV_XSK_FLAGS_TX_TIMESTAMP = 1,
	NETDEV_XSK_FLAGS_TX_CHECKSUM = 2,
	NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO = 4,
};

enum netdev_qstats_scope {
	NETDEV_QSTATS_SCOPE_QUEUE = 1, /* 0 (absent): one device-wide answer */
};

enum {
	NETDEV_A_DEV_IFINDEX = 1,
	NETDEV_A_DEV_PAD,
	NETDEV_A_DEV_XDP_FEATURES,
	NETDEV_A_DEV_XDP_ZC_MAX_SEGS,
	NETDEV_A_DEV_XDP_RX_METADATA_FEATURES,
	NETDEV_A_DEV_XSK_FEATURES,
};

enum {
	NETDEV_A_QSTATS_IFINDEX = 1,
	NETDEV_A_QSTATS_QUEUE_TYPE,
	NETDEV_A_QSTATS_QUEUE_ID,
	NETDEV_A_QSTATS_SCOPE,
	NETDEV_A_QSTATS_RX_PACKETS = 8,
	NETDEV_A_QSTATS_RX_BYTES,
	NETDEV_A_QSTATS_TX_PACKETS,
	NETDEV_A_QSTATS_TX_BYTES,
};

enum {
	NETDEV_CMD_DEV_GET = 1,
	NETDEV_CMD_QSTATS_GET = 12,
};
#endif /* NETDEV_FAMILY_NAME */

#endif
