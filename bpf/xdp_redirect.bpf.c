// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_redirect: port-to-port forwarding. A frame that arrives on interface IN leaves through the
 * devmap entry whose key is IN's ifindex, untouched. Two flavours, same logic:
 *
 *   xdp_redirect_devmap       map tx_port       BPF_MAP_TYPE_DEVMAP (array: key < max_entries)
 *   xdp_redirect_devmap_hash  map tx_port_hash  BPF_MAP_TYPE_DEVMAP_HASH (any ifindex as key)
 *
 * Key: ingress ifindex (__u32). Value: struct bpf_devmap_val, so each entry may carry an egress
 * program (SEC("xdp/devmap"), see xdp_egress.bpf.c) that runs on the frame before it is sent;
 * these programs are not frags-aware, so an egress program must not be either. Map sizes:
 * include/xdpctl/broadcast.h.
 *
 * Lookup miss: bpf_redirect_map() itself returns the low bits of its flags (XDP_ABORTED..XDP_TX)
 * when the key is absent, so the miss action costs nothing per packet. Set rodata `miss_action`
 * before load (default XDP_PASS); values above XDP_TX make the kernel abort every frame.
 *
 * A redirect target must be able to transmit XDP frames: a veth only when its peer runs an XDP
 * program (e.g. xdp_pass) or has GRO on. Otherwise frames are dropped (xdp:xdp_redirect_err).
 *
 * Maps: tx_port / tx_port_hash (run time), xdpctl_stats (per-action counters).
 * Load: xdpctl load xdp_redirect IN; xdpctl redirect IN OUT   (fills the shared devmap)
 * Test: tests/prog_xdp_redirect_test.cpp (BPF_PROG_TEST_RUN: verdict, bytes and counters per
 *       miss action); tests/live_redirect_test.cpp (live frames into veths, captured on peers).
 */
#include "lib/stats.h"
#include "xdpctl/broadcast.h"

const volatile __u32 miss_action = XDP_PASS;

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, XDPCTL_DEVMAP_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XDPCTL_DEVMAP_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port_hash SEC(".maps");

SEC("xdp")
int xdp_redirect_devmap(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&tx_port, ctx->ingress_ifindex, miss_action));
}

SEC("xdp")
int xdp_redirect_devmap_hash(struct xdp_md *ctx)
{
	return xdpctl_count(ctx, bpf_redirect_map(&tx_port_hash, ctx->ingress_ifindex, miss_action));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
