// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_egress: devmap egress programs, run per egress port after XDP_REDIRECT.
 *
 * An ingress program redirects into a DEVMAP or DEVMAP_HASH; an entry's struct bpf_devmap_val
 * names the egress device and, in bpf_prog.fd, one of these programs. The kernel runs it on the
 * frame just before the egress device transmits it (also once per port for BPF_F_BROADCAST,
 * each on its own copy), with ctx->egress_ifindex set. Per port it:
 *   1. drops the frame when the port's drop policy says so (closed, tagged-only, untagged-only);
 *   2. pushes or pops an 802.1Q/802.1ad tag (bpf_xdp_adjust_head);
 *   3. writes the port's own MAC as source MAC;
 *   4. counts per port (per CPU) and per action (xdpctl_stats).
 * A port without configuration is passed unchanged, and counted.
 *
 * Maps (include/xdpctl/egress.h): egress_ports (egress ifindex -> struct xdpctl_egress_port,
 * filled by the loader with the device's MAC), egress_stats (per-CPU struct
 * xdpctl_egress_stats per egress ifindex), xdpctl_stats (per-action counters).
 *
 * Two programs, one body: xdp_egress (SEC "xdp/devmap") and xdp_egress_frags (SEC
 * "xdp.frags/devmap"). Use the one whose frags flag matches the ingress program: the kernel
 * refuses (-EINVAL) an entry whose flag differs from the map's other entries, or, for a DEVMAP,
 * from the program that redirects into it. For a DEVMAP_HASH it does not check the latter
 * (6.18), so the loader must.
 *
 * Load: xdpctl redirect / xdpctl broadcast put xdp_egress into the devmap entries they create.
 * Test: tests/prog_xdp_egress_test.cpp. The kernel refuses BPF_PROG_TEST_RUN of devmap programs,
 *       so the test drives them with live frames (BPF_F_TEST_XDP_LIVE_FRAMES) through
 *       tests/progs/egress_ingress.bpf.c into veths and checks what each peer received.
 */
#include "lib/parse.h"
#include "lib/stats.h"
#include "xdpctl/egress.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPCTL_EGRESS_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct xdpctl_egress_port);
} egress_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XDPCTL_EGRESS_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct xdpctl_egress_stats);
} egress_stats SEC(".maps");

static __always_inline struct xdpctl_egress_stats *port_stats(__u32 port)
{
	static const struct xdpctl_egress_stats zero;
	struct xdpctl_egress_stats *st;

	st = bpf_map_lookup_elem(&egress_stats, &port);
	if (st)
		return st;
	/* first frame of this port; another CPU may insert it concurrently, so never overwrite */
	bpf_map_update_elem(&egress_stats, &port, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&egress_stats, &port);
}

/* New outermost tag {proto, tci}. The MAC addresses move 4 bytes to the front; the ethertype
 * stays in place and becomes the tag's encapsulated protocol.
 */
static __always_inline int vlan_push(struct xdp_md *ctx, __u16 proto, __u16 tci)
{
	struct vlan_hdr *vh;
	struct ethhdr *eth;
	__u8 macs[2 * ETH_ALEN];
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)VLAN_HLEN))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	vh = (void *)(eth + 1);
	if ((void *)(vh + 1) > data_end)
		return -1;
	__builtin_memcpy(macs, data + VLAN_HLEN, sizeof(macs));
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(proto ? proto : ETH_P_8021Q);
	vh->h_vlan_TCI = bpf_htons(tci);
	return 0;
}

/* Removes the outermost tag: 1 when popped, 0 when untagged, -1 when the tag is cut short. */
static __always_inline int vlan_pop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vlan_hdr *vh = (void *)(eth + 1);
	__u8 macs[2 * ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (!proto_is_vlan(eth->h_proto))
		return 0;
	if ((void *)(vh + 1) > data_end)
		return -1;
	/* the MAC addresses move over the tag; the encapsulated ethertype becomes h_proto */
	__builtin_memcpy(macs, eth, sizeof(macs));
	__builtin_memcpy(data + VLAN_HLEN, macs, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, VLAN_HLEN))
		return -1;
	return 1;
}

static __always_inline int drop_by_policy(__u8 policy, int tagged)
{
	if (policy & XDPCTL_EGRESS_DROP_ALL)
		return 1;
	if ((policy & XDPCTL_EGRESS_DROP_UNTAGGED) && !tagged)
		return 1;
	if ((policy & XDPCTL_EGRESS_DROP_TAGGED) && tagged)
		return 1;
	return 0;
}

/* The frame's length as transmitted. Without frags it is the linear part, read from ctx; the
 * helper call, needed only when fragments may follow, would cost a call per frame.
 */
static __always_inline __u64 frame_len(struct xdp_md *ctx, bool frags)
{
	if (frags)
		return bpf_xdp_get_buff_len(ctx);
	return ctx->data_end - ctx->data;
}

static __always_inline int egress(struct xdp_md *ctx, bool frags)
{
	__u32 port = ctx->egress_ifindex;
	struct xdpctl_egress_stats *st = port_stats(port);
	struct xdpctl_egress_port *cfg;
	void *data, *data_end;
	struct ethhdr *eth;
	int ret;

	cfg = bpf_map_lookup_elem(&egress_ports, &port);
	if (!cfg) {
		if (st) {
			st->unconfigured++;
			st->packets++;
			st->bytes += frame_len(ctx, frags);
		}
		return xdpctl_count(ctx, XDP_PASS);
	}

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	/* devices and the test run never hand over less than an Ethernet header; the verifier
	 * still needs the check
	 */
	if ((void *)(eth + 1) > data_end)
		goto malformed;

	if (drop_by_policy(cfg->drop, proto_is_vlan(eth->h_proto))) {
		if (st)
			st->drops++;
		return xdpctl_count(ctx, XDP_DROP);
	}

	switch (cfg->vlan_action) {
	case XDPCTL_EGRESS_VLAN_PUSH:
		if (vlan_push(ctx, cfg->vlan_proto, cfg->vlan_tci)) {
			if (st)
				st->errors++;
			return xdpctl_count(ctx, XDP_DROP);
		}
		if (st)
			st->vlan_pushed++;
		break;
	case XDPCTL_EGRESS_VLAN_POP:
		ret = vlan_pop(ctx);
		if (ret < 0)
			goto malformed;
		if (ret && st)
			st->vlan_popped++;
		break;
	default:
		break;
	}

	/* adjust_head invalidated every packet pointer: look again */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		goto malformed;
	__builtin_memcpy(eth->h_source, cfg->src_mac, ETH_ALEN);

	if (st) {
		st->packets++;
		st->bytes += frame_len(ctx, frags);
	}
	return xdpctl_count(ctx, XDP_PASS);

malformed:
	if (st)
		st->malformed++;
	return xdpctl_count(ctx, XDP_DROP);
}

SEC("xdp/devmap")
int xdp_egress(struct xdp_md *ctx)
{
	return egress(ctx, false);
}

/* Same body: it touches only the linear part (headers), which every fragment layout keeps. */
SEC("xdp.frags/devmap")
int xdp_egress_frags(struct xdp_md *ctx)
{
	return egress(ctx, true);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
