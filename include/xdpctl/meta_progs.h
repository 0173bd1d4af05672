/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Maps of the metadata programs (bpf/xdp_meta_producer, bpf/xdp_meta_kfunc,
 * bpf/tc_meta_consumer), shared with the loader and the tests. The metadata struct itself is
 * struct xdpctl_meta in meta.h.
 *
 * flow_hash (XDPCTL_META_FLOW_HASH valid) is FNV-1a 32 (offset basis 0x811c9dc5, prime
 * 0x01000193) over these bytes, all as they appear in the packet (network order):
 *	IPv4: saddr(4) daddr(4) protocol(1) sport(2) dport(2)            13 bytes
 *	IPv6: saddr(16) daddr(16) nexthdr(1) sport(2) dport(2)           37 bytes
 * after at most two 802.1Q/802.1ad tags. The ports are those of a complete UDP or TCP header
 * and are zero for every other protocol (ICMP, IPv6 extension headers) and for IPv4 fragments.
 * Frames without a complete IP header (ARP, unknown ethertypes, runts, a third VLAN tag) and
 * UDP/TCP frames whose L4 header is cut off get no flow hash: flow_hash 0, valid bit clear.
 *
 * mark (XDPCTL_META_MARK valid): meta_marks[destination port] for UDP/TCP when non-zero, else
 * the rodata default_mark when it is non-zero; otherwise 0 with the valid bit clear. Port 0 is
 * reserved in UDP and TCP: a frame to port 0 never uses meta_marks[0] (it gets default_mark).
 * A frame that cannot carry the metadata (NO_ROOM below) gets neither: it is counted as NO_ROOM
 * and nothing else.
 */
#ifndef XDPCTL_META_PROGS_H
#define XDPCTL_META_PROGS_H

#include "meta.h"
#include "types.h"

#define XDPCTL_FNV1A_BASIS 0x811c9dc5U
#define XDPCTL_FNV1A_PRIME 0x01000193U

/* meta_marks: BPF_MAP_TYPE_ARRAY indexed by destination port (host order, __u32 key 0..65535),
 * value __u32 mark; 0 means no mark for that port. An array, not a hash: the lookup is a bounds
 * check and an add that the verifier inlines, where a hash costs a jhash and a bucket walk on
 * every frame (that miss was most of what the producer cost over a bare program). The price is
 * memory: 65,536 slots of 8 bytes, 512 KiB per program instance.
 */
#define XDPCTL_META_MARKS_MAX 65536

/* meta_counters (producer and kfunc program): BPF_MAP_TYPE_PERCPU_ARRAY of __u64, summed over
 * CPUs by readers. Only the exceptions are counted per frame: every frame a producer sees is an
 * XDP_PASS in its xdpctl_stats, so the frames that carry our metadata are
 *	xdpctl_stats[XDP_PASS].packets - meta_counters[XDPCTL_METACNT_NO_ROOM]
 */
enum xdpctl_meta_counter {
	XDPCTL_METACNT_NO_ROOM = 0, /* data_meta already used, or adjust_meta refused: passed as is */
	XDPCTL_METACNT_NO_FLOW, /* no flow hash (not IP, or headers cut off) */
	XDPCTL_METACNT_MARKED, /* mark valid */
	XDPCTL_METACNT_MAX,
};

/* kfunc_counters (kfunc program): BPF_MAP_TYPE_PERCPU_ARRAY with one entry (key 0), value
 * struct xdpctl_kfunc_stats: one counter set per kfunc, indexed by enum xdpctl_meta_kfunc, so
 * that one lookup a frame serves all three kfuncs.
 */
enum xdpctl_meta_kfunc {
	XDPCTL_KFUNC_RX_HASH = 0,
	XDPCTL_KFUNC_RX_TIMESTAMP,
	XDPCTL_KFUNC_RX_VLAN_TAG,
	XDPCTL_KFUNC_MAX,
};

struct xdpctl_kfunc_counters {
	__u64 ok; /* returned 0: value valid */
	__u64 refused; /* -EOPNOTSUPP from the device, or the kernel lacks the kfunc */
	__u64 nodata; /* -ENODATA: supported, but no value for this packet */
	__u64 other; /* any other error */
};

struct xdpctl_kfunc_stats {
	struct xdpctl_kfunc_counters kfunc[XDPCTL_KFUNC_MAX];
};

/* consumer_counters (TC consumer): BPF_MAP_TYPE_PERCPU_ARRAY of __u64. */
enum xdpctl_consumer_counter {
	XDPCTL_CONSCNT_WITH_META = 0, /* a struct xdpctl_meta with the right magic */
	XDPCTL_CONSCNT_NO_META, /* data_meta shorter than struct xdpctl_meta */
	XDPCTL_CONSCNT_BAD_MAGIC, /* 32 bytes of someone else's metadata */
	XDPCTL_CONSCNT_MARK_SET, /* skb->mark set from meta.mark */
	XDPCTL_CONSCNT_DROPPED, /* meta.mark == drop_mark: TC_ACT_SHOT */
	XDPCTL_CONSCNT_MAX,
};

/* meta_flows (TC consumer): BPF_MAP_TYPE_LRU_HASH, key __u32 flow_hash (only frames whose
 * metadata carries a valid flow hash), value the last metadata seen for that flow.
 */
#define XDPCTL_META_FLOWS_MAX 4096

struct xdpctl_meta_flow {
	struct xdpctl_meta last; /* as read from data_meta */
	__u64 packets;
	__u32 skb_hash; /* __sk_buff->hash when the consumer ran (veth: what rx_hash returned) */
	__u32 skb_mark; /* __sk_buff->mark after the consumer set it */
};

#endif
