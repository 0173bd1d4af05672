/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What user space needs to fill the devmaps of bpf/xdp_redirect.bpf.c and bpf/xdp_broadcast.bpf.c.
 *
 * Every devmap of both programs: key __u32, value struct bpf_devmap_val (linux/bpf.h), at most
 * XDPCTL_DEVMAP_MAX_ENTRIES entries. In a BPF_MAP_TYPE_DEVMAP (an array) the key must also be
 * below the map's max_entries; a BPF_MAP_TYPE_DEVMAP_HASH takes any key.
 *
 * Port groups (broadcast, multicast): the kernel's broadcast walk (dev_map_enqueue_multi) visits
 * every slot of a DEVMAP and every bucket of a DEVMAP_HASH (n_buckets = max_entries rounded up to
 * a power of two) for every frame, so a group's devmap is sized to the group: it starts at
 * XDPCTL_GROUP_MIN_ENTRIES and sits in a slot of an ARRAY_OF_MAPS, through which the program
 * finds it. User space grows (or shrinks) a group by filling a devmap of the new size and
 * swapping it into that slot with one update (atomic; the program is not reloaded; a devmap's
 * max_entries is not part of the inner-map check since Linux 5.10).
 *   map "bcast_group"       ARRAY_OF_MAPS, 1 slot -> "bcast_ports" (DEVMAP; key = a dense slot
 *                           0..n-1 chosen by the loader, value.ifindex = the port)
 *   map "bcast_group_hash"  ARRAY_OF_MAPS, 1 slot -> "bcast_ports_hash" (DEVMAP_HASH; key = ifindex)
 *
 * Multicast (prog xdp_multicast):
 *   map "mcast_macs"    BPF_MAP_TYPE_HASH, key struct xdpctl_mac (the frame's destination MAC,
 *                       6 bytes, no padding), value __u32 group (0..XDPCTL_MCAST_GROUPS-1)
 *   map "mcast_groups"  BPF_MAP_TYPE_ARRAY_OF_MAPS, key __u32 group, value: that group's devmap
 *   maps "mcast_group0".."mcast_group3"  the groups' devmaps (DEVMAP_HASH, key = egress ifindex,
 *                       value struct bpf_devmap_val), preset in mcast_groups at load
 * A frame is copied to every port of its group; an unknown MAC gets rodata miss_action.
 */
#ifndef XDPCTL_BROADCAST_H
#define XDPCTL_BROADCAST_H

#include "types.h"

#define XDPCTL_DEVMAP_MAX_ENTRIES 1024
/* A group devmap's size at load, and the least it shrinks to; a group holds at most
 * XDPCTL_DEVMAP_MAX_ENTRIES ports.
 */
#define XDPCTL_GROUP_MIN_ENTRIES 8
#define XDPCTL_MCAST_GROUPS 4
#define XDPCTL_MAC_MAX_ENTRIES 1024

struct xdpctl_mac {
	__u8 addr[6]; /* as on the wire */
};

#ifdef __cplusplus
static_assert(sizeof(struct xdpctl_mac) == 6, "key is the 6 bytes of the MAC, no padding");
#else
_Static_assert(sizeof(struct xdpctl_mac) == 6, "key is the 6 bytes of the MAC, no padding");
#endif

#endif
