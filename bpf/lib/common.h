/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What every program of the collection includes: kernel types from the running kernel's BTF,
 * libbpf's helpers, and the constants vmlinux.h cannot carry (macros are not in BTF).
 */
#ifndef XDPCTL_BPF_COMMON_H
#define XDPCTL_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_P_IPV6 0x86DD
#define VLAN_VID_MASK 0x0fff
#define VLAN_HLEN 4

#ifndef IPPROTO_TCP
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#endif

/* Adds one to the __u64 at key of a per-CPU array of event counters (drop reasons, metadata
 * exceptions). key is a copy, so the caller's values stay in registers.
 */
static __always_inline void percpu_inc(void *map, __u32 key)
{
	__u64 *c = bpf_map_lookup_elem(map, &key);

	if (c)
		(*c)++;
}

#endif
