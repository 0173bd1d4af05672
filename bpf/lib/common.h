/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What every program of the collection includes: kernel types from the running kernel's BTF,
 * libbpf's helpers, and the constants vmlinux.h cannot carry (macros are not in BTF).
 *
 * Without CO-RE: packet headers and the XDP/TC contexts (xdp_md, __sk_buff) are ABI, so a field
 * access through them needs no relocation. vmlinux.h marks every struct preserve_access_index,
 * and one relocation is enough for libbpf to read and parse the kernel's whole vmlinux BTF
 * (about 5 MB, 80 ms) on every load: per interface, most of what `xdpctl load` cost. A program
 * that reads kernel-internal structs (the monitor's struct net_device) says so at each access
 * with BPF_CORE_READ, which relocates without the attribute.
 */
#ifndef XDPCTL_BPF_COMMON_H
#define XDPCTL_BPF_COMMON_H

#define BPF_NO_PRESERVE_ACCESS_INDEX
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
