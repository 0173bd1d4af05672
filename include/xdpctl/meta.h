/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The metadata struct XDP programs of the collection place in data_meta, right before the
 * packet, and that consumers (TC cls_bpf through __sk_buff->data_meta, AF_XDP, a devmap egress
 * program) read back.
 *
 * bpf_xdp_adjust_meta() accepts at most 32 bytes in multiples of 4, so the struct is exactly 32.
 * Producers write `magic` last-but-checked: a consumer trusts the rest only when magic matches
 * and data_meta holds at least sizeof(struct xdpctl_meta).
 */
#ifndef XDPCTL_META_H
#define XDPCTL_META_H

#include "types.h"

#define XDPCTL_META_MAGIC 0x4d58 /* "XM" */

/* valid: which fields hold a value. refused: which RX metadata kfuncs the device or kernel
 * refused (-EOPNOTSUPP or absent), so a consumer can tell "no hash" from "hash is 0".
 */
enum xdpctl_meta_field {
	XDPCTL_META_FLOW_HASH = 1 << 0, /* computed in BPF from the 5-tuple: works on any device */
	XDPCTL_META_MARK = 1 << 1,
	XDPCTL_META_RX_HASH = 1 << 2, /* bpf_xdp_metadata_rx_hash() */
	XDPCTL_META_RX_TIMESTAMP = 1 << 3, /* bpf_xdp_metadata_rx_timestamp() */
	XDPCTL_META_RX_VLAN = 1 << 4, /* bpf_xdp_metadata_rx_vlan_tag() */
};

struct xdpctl_meta {
	__u32 flow_hash;
	__u32 mark;
	__u32 rx_hash;
	__u32 rx_hash_type; /* enum xdp_rss_hash_type */
	__u64 rx_timestamp; /* ns, device clock */
	__u16 rx_vlan_proto; /* network byte order, as the kfunc gives it */
	__u16 rx_vlan_tci;
	__u8 valid; /* enum xdpctl_meta_field bits */
	__u8 refused; /* enum xdpctl_meta_field bits */
	__u16 magic; /* XDPCTL_META_MAGIC */
};

#ifdef __cplusplus
static_assert(sizeof(struct xdpctl_meta) == 32, "data_meta holds at most 32 bytes");
#else
_Static_assert(sizeof(struct xdpctl_meta) == 32, "data_meta holds at most 32 bytes");
#endif

#endif
