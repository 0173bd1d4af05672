// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_broadcast: copy every frame to all ports of a devmap (BPF_F_BROADCAST), or to the ports of
 * a multicast group picked by the destination MAC.
 *
 *   xdp_broadcast_devmap       map bcast_group -> bcast_ports            BPF_MAP_TYPE_DEVMAP
 *   xdp_broadcast_devmap_hash  map bcast_group_hash -> bcast_ports_hash  BPF_MAP_TYPE_DEVMAP_HASH
 *   xdp_multicast              maps mcast_macs (dest MAC -> group), mcast_groups (group ->
 *                              devmap), mcast_group0..3 (one DEVMAP_HASH per group)
 *
 * With BPF_F_BROADCAST the key is ignored: the kernel clones the frame to every entry, after a
 * walk over every slot (DEVMAP) or bucket (DEVMAP_HASH) of the map. So the devmaps start small
 * (XDPCTL_GROUP_MIN_ENTRIES) and each sits behind a one-slot ARRAY_OF_MAPS: the loader grows a
 * group by swapping a larger, filled devmap into that slot (one atomic update, no reload). In
 * bcast_ports (an array) the key is a dense slot the loader assigns, not the ifindex. rodata
 * `exclude_ingress` (default 1) adds BPF_F_EXCLUDE_INGRESS, so the port the frame came in on
 * (its ifindex may be an entry, as it usually is for a shared port group) gets no copy.
 * An empty devmap still yields XDP_REDIRECT: the frame is consumed, nothing is sent.
 * For xdp_multicast, a destination MAC that is in no group gets rodata `miss_action` (default
 * XDP_PASS), so unicast traffic still reaches the stack. Keys and sizes: include/xdpctl/broadcast.h.
 *
 * Values are struct bpf_devmap_val, so an entry may carry an egress program (SEC("xdp/devmap"),
 * not frags-aware like these programs) that then runs on that port's copy only.
 * Each port must be a ready redirect target (a veth: its peer runs XDP or has GRO on).
 *
 * Maps: as above (run time), xdpctl_stats (per-action counters: one XDP_REDIRECT per frame,
 *       whatever the number of copies).
 * Load: xdpctl load xdp_broadcast IN; xdpctl broadcast add PORT...   (fills the shared devmap)
 *       xdpctl load xdp_multicast IN; xdpctl multicast add GROUP PORT...;
 *       xdpctl multicast mac add MAC GROUP                         (fills the shared group maps)
 * Test: tests/prog_xdp_broadcast_test.cpp (BPF_PROG_TEST_RUN verdicts, bytes, counters);
 *       tests/live_broadcast_test.cpp (live frames: which veth got which copy, byte for byte);
 *       tests/cli_multicast_test.cpp (groups through the CLI, real frames per group).
 */
#include "lib/stats.h"
#include "xdpctl/broadcast.h"

const volatile __u32 exclude_ingress = 1;
const volatile __u32 miss_action = XDP_PASS;

struct bcast_devmap {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, XDPCTL_GROUP_MIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} bcast_ports SEC(".maps");

struct bcast_devmap_hash {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XDPCTL_GROUP_MIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} bcast_ports_hash SEC(".maps");

/* The verifier inlines a lookup in an ARRAY_OF_MAPS (a bounds check and a load): the price of a
 * group that can be resized under traffic.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct bcast_devmap);
} bcast_group SEC(".maps") = {
	.values = { &bcast_ports },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct bcast_devmap_hash);
} bcast_group_hash SEC(".maps") = {
	.values = { &bcast_ports_hash },
};

struct mcast_group {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XDPCTL_GROUP_MIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} mcast_group0 SEC(".maps"), mcast_group1 SEC(".maps"), mcast_group2 SEC(".maps"),
	mcast_group3 SEC(".maps");

/* One devmap per group behind an array of maps: the group index from mcast_macs selects the
 * devmap without a branch per group, and user space may swap a group's devmap atomically.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XDPCTL_MCAST_GROUPS);
	__type(key, __u32);
	__array(values, struct mcast_group);
} mcast_groups SEC(".maps") = {
	.values = { &mcast_group0, &mcast_group1, &mcast_group2, &mcast_group3 },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPCTL_MAC_MAX_ENTRIES);
	__type(key, struct xdpctl_mac);
	__type(value, __u32);
} mcast_macs SEC(".maps");

static __always_inline __u64 broadcast_flags(void)
{
	return BPF_F_BROADCAST | (exclude_ingress ? BPF_F_EXCLUDE_INGRESS : 0);
}

/* Slot 0 of a group map always holds a devmap (set at load, only ever swapped): an empty slot is
 * a broken setup, reported as XDP_ABORTED (the xdp:xdp_exception tracepoint sees it).
 */
static __always_inline int broadcast(struct xdp_md *ctx, void *group)
{
	__u32 zero = 0;
	void *ports = bpf_map_lookup_elem(group, &zero);

	if (!ports)
		return xdpctl_count(ctx, XDP_ABORTED);
	return xdpctl_count(ctx, bpf_redirect_map(ports, 0, broadcast_flags()));
}

SEC("xdp")
int xdp_broadcast_devmap(struct xdp_md *ctx)
{
	return broadcast(ctx, &bcast_group);
}

SEC("xdp")
int xdp_broadcast_devmap_hash(struct xdp_md *ctx)
{
	return broadcast(ctx, &bcast_group_hash);
}

SEC("xdp")
int xdp_multicast(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	__u32 *group;
	void *ports;

	/* A device never hands XDP less than an Ethernet header, but the verifier wants proof. */
	if ((void *)(eth + 1) > data_end)
		return xdpctl_count(ctx, miss_action);
	/* The key is read straight from the packet: no copy onto the stack. */
	group = bpf_map_lookup_elem(&mcast_macs, eth->h_dest);
	if (!group)
		return xdpctl_count(ctx, miss_action);
	ports = bpf_map_lookup_elem(&mcast_groups, group);
	if (!ports)
		return xdpctl_count(ctx, miss_action);
	return xdpctl_count(ctx, bpf_redirect_map(ports, 0, broadcast_flags()));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
