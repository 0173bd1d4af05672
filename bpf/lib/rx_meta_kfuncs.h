/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The RX metadata kfuncs (6.3+; rx_vlan_tag 6.8+) for a device-bound XDP program, and the rodata
 * switch of each: the loader clears the switch of every kfunc the running kernel's BTF lacks
 * (xdpctl::switch_meta_kfuncs), so the verifier drops the call, which as a weak extern would
 * otherwise stay unresolved and fail the load. Guard every call:
 *
 *	err = has_rx_hash ? bpf_xdp_metadata_rx_hash(ctx, &hash, &type) : -EOPNOTSUPP;
 */
#ifndef XDPCTL_BPF_RX_META_KFUNCS_H
#define XDPCTL_BPF_RX_META_KFUNCS_H

#include "common.h"

extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym __weak;
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym __weak;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto,
					__u16 *vlan_tci) __ksym __weak;

const volatile __u8 has_rx_hash = 1;
const volatile __u8 has_rx_timestamp = 1;
const volatile __u8 has_rx_vlan_tag = 1;

#endif
