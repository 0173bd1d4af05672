// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_egress: devmap egress programs, run per egress port after XDP_REDIRECT.
 *
 * An ingress program redirects into a DEVMAP or DEVMAP_HASH; an entry's struct bpf_devmap_val
 * names the egress device and, in bpf_prog.fd, one of these programs. The kernel runs it on the
 * frame just before the egress device transmits it (also once per port for BPF_F_BROADCAST,
 * each on its own copy). Per port it:
 *   1. drops the frame when the port's drop policy says so (closed, tagged-only, untagged-only);
 *   2. pushes or pops an 802.1Q/802.1ad tag (bpf_xdp_adjust_head);
 *   3. writes the port's own MAC as source MAC;
 *   4. counts, per action (xdpctl_stats) and per drop reason / popped tag (egress_counters).
 *
 * One instance per egress port: the port's configuration is rodata `port_cfg` (struct
 * xdpctl_egress_port, include/xdpctl/egress.h), set by the loader before load. The verifier
 * then knows it and keeps only the code the port uses, so a frame pays for no configuration
 * lookup, and the instance's counters are the port's. An all-zero port_cfg passes frames
 * unchanged, counted. (An earlier version looked the port up in two hash maps keyed by
 * ctx->egress_ifindex; those lookups were 3/4 of the program's cost in `make bench`.)
 *
 * Two programs, one body: xdp_egress (SEC "xdp/devmap") and xdp_egress_frags (SEC
 * "xdp.frags/devmap"). Use the one whose frags flag matches the ingress program: the kernel
 * refuses (-EINVAL) an entry whose flag differs from the map's other entries, or, for a DEVMAP,
 * from the program that redirects into it. For a DEVMAP_HASH it does not check the latter
 * (6.18), so the loader must.
 *
 * Load: xdpctl redirect / broadcast / multicast add ... --egress xdp_egress [--egress-mac] load
 *       one instance per egress port and put it into the devmap entries they write.
 * Test: tests/prog_xdp_egress_test.cpp. The kernel refuses BPF_PROG_TEST_RUN of devmap programs,
 *       so the test drives them with live frames (BPF_F_TEST_XDP_LIVE_FRAMES) through
 *       tests/progs/egress_ingress.bpf.c into veths and checks what each peer received.
 */
#include "lib/parse.h"
#include "lib/stats.h"
#include "xdpctl/egress.h"

const volatile struct xdpctl_egress_port port_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPCTL_EGRESS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} egress_counters SEC(".maps");

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

/* Every branch on port_cfg is decided by the verifier, which reads the frozen rodata: a port
 * without a drop policy, VLAN action or MAC runs none of their code.
 */
static __always_inline int egress(struct xdp_md *ctx)
{
	void *data, *data_end;
	struct ethhdr *eth;
	int ret;

	if (port_cfg.drop) {
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		/* devices and the test run never hand over less than an Ethernet header; the
		 * verifier still needs the check
		 */
		if ((void *)(eth + 1) > data_end)
			goto malformed;
		if (drop_by_policy(port_cfg.drop, proto_is_vlan(eth->h_proto))) {
			percpu_inc(&egress_counters, XDPCTL_EGRESS_CNT_POLICY_DROP);
			return xdpctl_count(ctx, XDP_DROP);
		}
	}

	if (port_cfg.vlan_action == XDPCTL_EGRESS_VLAN_PUSH) {
		if (vlan_push(ctx, port_cfg.vlan_proto, port_cfg.vlan_tci)) {
			percpu_inc(&egress_counters, XDPCTL_EGRESS_CNT_ERROR);
			return xdpctl_count(ctx, XDP_DROP);
		}
	} else if (port_cfg.vlan_action == XDPCTL_EGRESS_VLAN_POP) {
		ret = vlan_pop(ctx);
		if (ret < 0)
			goto malformed;
		if (ret)
			percpu_inc(&egress_counters, XDPCTL_EGRESS_CNT_VLAN_POPPED);
	}

	if (port_cfg.set_src_mac) {
		/* adjust_head invalidated every packet pointer: look again */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		if ((void *)(eth + 1) > data_end)
			goto malformed;
		/* byte by byte through the volatile: a memcpy from a cast would let clang fold
		 * port_cfg's all-zero initializer in at compile time
		 */
		for (int i = 0; i < ETH_ALEN; i++)
			eth->h_source[i] = port_cfg.src_mac[i];
	}
	return xdpctl_count(ctx, XDP_PASS);

malformed:
	percpu_inc(&egress_counters, XDPCTL_EGRESS_CNT_MALFORMED);
	return xdpctl_count(ctx, XDP_DROP);
}

SEC("xdp/devmap")
int xdp_egress(struct xdp_md *ctx)
{
	return egress(ctx);
}

/* Same body: it touches only the linear part (headers), which every fragment layout keeps; its
 * byte counts are that linear part too, as for every program (include/xdpctl/stats.h).
 */
SEC("xdp.frags/devmap")
int xdp_egress_frags(struct xdp_md *ctx)
{
	return egress(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
