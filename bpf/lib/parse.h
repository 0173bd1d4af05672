/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Bounds-checked header parsing for XDP and TC. A cursor walks forward through the packet; each
 * parser returns the next protocol (or -1) and advances the cursor only past a whole header,
 * so a runt or truncated frame never reads past data_end.
 */
#ifndef XDPCTL_BPF_PARSE_H
#define XDPCTL_BPF_PARSE_H

#include "common.h"

struct cursor {
	void *pos;
	void *end;
};

/* At most this many 802.1Q/802.1ad tags are skipped (QinQ); a third is left to the caller. */
#define XDPCTL_MAX_VLAN 2

/* struct vlan_hdr {h_vlan_TCI, h_vlan_encapsulated_proto} comes from vmlinux.h */

struct eth_info {
	struct ethhdr *eth;
	__u16 proto; /* host order, after the VLAN tags */
	__u16 vlan_tci[XDPCTL_MAX_VLAN]; /* host order, outermost first */
	__u8 vlans;
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

/* Returns the ethertype (host order) after up to XDPCTL_MAX_VLAN tags, or -1 when truncated. */
static __always_inline int parse_eth(struct cursor *c, struct eth_info *info)
{
	struct ethhdr *eth = c->pos;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	info->eth = eth;
	info->vlans = 0;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < XDPCTL_MAX_VLAN; i++) {
		struct vlan_hdr *vh = c->pos;

		if (!proto_is_vlan(proto))
			break;
		if ((void *)(vh + 1) > c->end)
			return -1;
		info->vlan_tci[i] = bpf_ntohs(vh->h_vlan_TCI);
		info->vlans++;
		proto = vh->h_vlan_encapsulated_proto;
		c->pos = vh + 1;
	}
	info->proto = bpf_ntohs(proto);
	return info->proto;
}

/* Returns the L4 protocol, or -1 when truncated or the IHL is impossible. */
static __always_inline int parse_ipv4(struct cursor *c, struct iphdr **iph)
{
	struct iphdr *h = c->pos;
	int hlen;

	if ((void *)(h + 1) > c->end)
		return -1;
	hlen = h->ihl * 4;
	if (hlen < (int)sizeof(*h))
		return -1;
	if (c->pos + hlen > c->end)
		return -1;
	c->pos += hlen;
	*iph = h;
	return h->protocol;
}

/* Returns the next header (no extension headers are walked), or -1 when truncated. */
static __always_inline int parse_ipv6(struct cursor *c, struct ipv6hdr **ip6h)
{
	struct ipv6hdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	*ip6h = h;
	return h->nexthdr;
}

static __always_inline int parse_udp(struct cursor *c, struct udphdr **udph)
{
	struct udphdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	*udph = h;
	return 0;
}

static __always_inline int parse_tcp(struct cursor *c, struct tcphdr **tcph)
{
	struct tcphdr *h = c->pos;
	int hlen;

	if ((void *)(h + 1) > c->end)
		return -1;
	hlen = h->doff * 4;
	if (hlen < (int)sizeof(*h))
		return -1;
	if (c->pos + hlen > c->end)
		return -1;
	c->pos += hlen;
	*tcph = h;
	return 0;
}

#endif
