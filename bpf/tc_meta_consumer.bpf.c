// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* tc_meta_consumer: read the struct xdpctl_meta an XDP producer (xdp_meta_producer or
 * xdp_meta_kfunc) left in data_meta and act on it, at TC ingress of the same device:
 * - skb->mark := meta.mark when the mark is valid (routing rules, nftables can match it);
 * - drop the frame when meta.mark == drop_mark (a visible per-mark policy);
 * - remember, per flow hash, the last metadata seen and how many frames (meta_flows);
 * - count frames with, without and with foreign metadata (consumer_counters).
 * Everything else goes on unchanged (TC_ACT_OK). The kernel keeps data_meta from XDP up to TC
 * ingress on drivers that support it (veth, mlx5, ice, ...); anything in between may clear it.
 *
 * Maps: meta_flows (LRU_HASH, flow_hash -> struct xdpctl_meta_flow), consumer_counters
 *       (per-CPU, enum xdpctl_consumer_counter); include/xdpctl/meta_progs.h.
 * Rodata: drop_mark (0 = never drop).
 * Load: clsact ingress of the interface the producer runs on (bpf_tc_hook_create +
 *       bpf_tc_attach; or `tc filter add dev IF ingress bpf da obj tc_meta_consumer.bpf.o
 *       sec tc`).
 * Test: tests/live_meta_test.cpp puts it behind both producers on a veth and checks, from
 *       meta_flows, the metadata of real ping and UDP traffic.
 */
#include "lib/common.h"
#include "xdpctl/meta.h"
#include "xdpctl/meta_progs.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Frames whose metadata carries this mark are dropped (0: none). */
const volatile __u32 drop_mark = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPCTL_META_FLOWS_MAX);
	__type(key, __u32);
	__type(value, struct xdpctl_meta_flow);
} meta_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPCTL_CONSCNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} consumer_counters SEC(".maps");

static __always_inline void remember_flow(struct __sk_buff *skb, const struct xdpctl_meta *m)
{
	struct xdpctl_meta_flow *f, init = {};
	__u32 key = m->flow_hash;

	f = bpf_map_lookup_elem(&meta_flows, &key);
	if (!f) {
		bpf_map_update_elem(&meta_flows, &key, &init, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&meta_flows, &key);
		if (!f)
			return;
	}
	f->last = *m;
	f->skb_hash = skb->hash;
	f->skb_mark = skb->mark;
	__sync_fetch_and_add(&f->packets, 1);
}

SEC("tc")
int tc_meta_consumer(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct xdpctl_meta *mp = (void *)(long)skb->data_meta;
	struct xdpctl_meta m;

	if ((void *)(mp + 1) > data) {
		percpu_inc(&consumer_counters, XDPCTL_CONSCNT_NO_META);
		return TC_ACT_OK;
	}
	if (mp->magic != XDPCTL_META_MAGIC) {
		percpu_inc(&consumer_counters, XDPCTL_CONSCNT_BAD_MAGIC);
		return TC_ACT_OK;
	}
	/* a copy: data_meta is packet memory, helpers below may invalidate the pointer */
	__builtin_memcpy(&m, mp, sizeof(m));
	percpu_inc(&consumer_counters, XDPCTL_CONSCNT_WITH_META);

	if (m.valid & XDPCTL_META_MARK) {
		skb->mark = m.mark;
		percpu_inc(&consumer_counters, XDPCTL_CONSCNT_MARK_SET);
	}
	if (m.valid & XDPCTL_META_FLOW_HASH)
		remember_flow(skb, &m);
	if (drop_mark && (m.valid & XDPCTL_META_MARK) && m.mark == drop_mark) {
		percpu_inc(&consumer_counters, XDPCTL_CONSCNT_DROPPED);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
