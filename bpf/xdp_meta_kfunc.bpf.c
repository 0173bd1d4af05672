// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_meta_kfunc: the producer's struct xdpctl_meta, with the NIC's own RX metadata added
 * through the kfuncs bpf_xdp_metadata_rx_hash, _rx_timestamp and _rx_vlan_tag. A kfunc that
 * does not answer is recorded, not fatal:
 *	0            value stored, valid bit set                  kfunc_counters[k].ok
 *	-EOPNOTSUPP  the device has no such metadata: refused bit  kfunc_counters[k].refused
 *	-ENODATA     supported, nothing for this packet (e.g. no
 *	             VLAN tag): neither bit                        kfunc_counters[k].nodata
 * Flow hash and mark are computed in BPF exactly as in xdp_meta_producer (lib/flow_hash.h).
 *
 * The program must be device-bound: before load, bpf_program__set_ifindex(prog, ifindex) and
 * bpf_program__set_flags(prog, BPF_F_XDP_DEV_BOUND_ONLY); the verifier then replaces each kfunc
 * call with the device's implementation (veth implements all three in native mode; a device
 * without them gets the generic stubs that return -EOPNOTSUPP). It can only be attached to
 * that device, in native mode, never put in a devmap.
 *
 * Kernels without a kfunc (6.3-6.7 lack rx_vlan_tag): the kfuncs are weak externs and each call
 * is behind a rodata switch (has_rx_hash, has_rx_timestamp, has_rx_vlan_tag, default 1). The
 * loader clears the switch of every kfunc absent from the kernel's BTF
 * (xdpctl::probe_meta_kfuncs); the verifier then drops the dead call and the field is recorded
 * as refused. Left at 1 on such a kernel, the verifier is expected to refuse the unresolved
 * call. Before 6.3 (no BPF_F_XDP_DEV_BOUND_ONLY) and on 6.3/6.4 (rx_hash had two arguments)
 * the load is expected to fail with EINVAL: load xdp_meta_producer instead. (Only the 6.18
 * path, every kfunc present, has been run.)
 *
 * Maps: meta_marks, meta_counters (as the producer), kfunc_counters (per-CPU, one entry: struct
 *       xdpctl_kfunc_stats, counters per enum xdpctl_meta_kfunc), xdpctl_stats.
 * Load: xdpctl load xdp_meta_kfunc IFNAME   (the loader binds it to IFNAME)
 * Test: tests/live_meta_test.cpp attaches it natively on a veth, pings through it and reads the
 *       metadata back in tc_meta_consumer (XDPCTL_DEVBOUND_LIVE=1, see there).
 */
#include "lib/flow_hash.h"
#include "lib/rx_meta_kfuncs.h"
#include "lib/stats.h"

#define EOPNOTSUPP 95
#define ENODATA 61

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpctl_kfunc_stats);
} kfunc_counters SEC(".maps");

/* Names struct xdpctl_meta in this object's BTF, where the control map's XDP_MD finds it
 * (md_btf_type_id): clang describes the types of globals and function signatures only, not of
 * the inlined locals below. A pointer, so the skeleton does not need the struct's definition.
 * Never read or written. */
struct xdpctl_meta *xdpctl_meta_btf;

/* Records one kfunc's answer in m->valid/m->refused and in its counters (ks: this CPU's
 * kfunc_counters, looked up once per frame).
 */
static __always_inline void kfunc_result(struct xdpctl_meta *m, struct xdpctl_kfunc_stats *ks, __u32 kfunc,
					 __u8 field, int err)
{
	struct xdpctl_kfunc_counters *c;

	if (!err)
		m->valid |= field;
	else if (err == -EOPNOTSUPP)
		m->refused |= field;
	if (!ks)
		return;
	c = &ks->kfunc[kfunc];
	if (!err)
		c->ok++;
	else if (err == -EOPNOTSUPP)
		c->refused++;
	else if (err == -ENODATA)
		c->nodata++;
	else
		c->other++;
}

SEC("xdp")
int xdp_meta_kfunc(struct xdp_md *ctx)
{
	struct xdpctl_meta m = {};
	enum xdp_rss_hash_type rss_type = 0;
	struct xdpctl_kfunc_stats *ks;
	__u32 zero = 0;
	int err;

	meta_fill_flow(ctx, &m);
	ks = bpf_map_lookup_elem(&kfunc_counters, &zero);

	err = -EOPNOTSUPP;
	if (has_rx_hash)
		err = bpf_xdp_metadata_rx_hash(ctx, &m.rx_hash, &rss_type);
	m.rx_hash_type = rss_type;
	kfunc_result(&m, ks, XDPCTL_KFUNC_RX_HASH, XDPCTL_META_RX_HASH, err);

	err = -EOPNOTSUPP;
	if (has_rx_timestamp)
		err = bpf_xdp_metadata_rx_timestamp(ctx, &m.rx_timestamp);
	kfunc_result(&m, ks, XDPCTL_KFUNC_RX_TIMESTAMP, XDPCTL_META_RX_TIMESTAMP, err);

	err = -EOPNOTSUPP;
	if (has_rx_vlan_tag)
		err = bpf_xdp_metadata_rx_vlan_tag(ctx, &m.rx_vlan_proto, &m.rx_vlan_tci);
	kfunc_result(&m, ks, XDPCTL_KFUNC_RX_VLAN_TAG, XDPCTL_META_RX_VLAN, err);

	meta_store(ctx, &m);
	return xdpctl_count(ctx, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
