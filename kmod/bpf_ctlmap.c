// SPDX-License-Identifier: GPL-2.0
/* bpf_ctlmap: the "BPF control map" proposal on kernels that cannot add a map type.
 *
 * A module cannot add a map type (the kernel's table is compiled in), but it can own a netdev
 * that offloads maps. In every network namespace this module registers three control netdevs,
 * one per control type of include/xdpctl/ctlmap.h:
 *
 *	ctl_xdp_stats	BPF_CTRL_XDP_STATS	struct bpf_ctrl_xdp_stats	read only
 *	ctl_xdp_attr	BPF_CTRL_XDP_ATTR	struct bpf_ctrl_xdp_attr	update: SETUP_REDIRECT
 *	ctl_xdp_md	BPF_CTRL_XDP_MD		struct bpf_ctrl_xdp_md		update: SETUP_MD (EOPNOTSUPP:
 *								libxdpctl's loader does it)
 *
 * User space creates a control map with the ordinary BPF_MAP_CREATE (BPF_MAP_TYPE_HASH or
 * ARRAY, key_size 4, value_size at least the 12-byte head and at most 4096) and map_ifindex set
 * to one of them; the kernel then hands get_next_key, lookup, update and delete to the
 * bpf_map_dev_ops below, so bpf_map_*_elem() and `bpftool map dump` work unchanged. Keys are
 * ifindexes of the namespace the control netdev lives in, i.e. the creator's namespace
 * (the kernel resolves map_ifindex there); get_next_key walks them in ascending order and starts
 * over from the first at a key no netdev has (ctl_map_get_next_key() says why). A value
 * shorter than the struct gets its prefix, a longer one a zeroed tail (fields are only appended).
 *
 * Locking: the kernel calls the map ops with its bpf_devs_lock held for reading, and takes that
 * lock under rtnl when it creates or frees offloaded maps (and when a control netdev goes away).
 * Taking rtnl here could therefore deadlock; attributes that need rtnl (programs, rings,
 * channels, veth peer state) are read under rtnl_trylock() retried for at most ~200-400 ms.
 * When it cannot be had, lookup leaves those `avail` bits clear and update returns -EAGAIN
 * (a missing device is -ENOENT before that: it is looked up under RCU first).
 *
 * The value structs are used below, so pahole emits them into the module's BTF
 * (/sys/kernel/btf/bpf_ctlmap). kfuncs for SEC("syscall") programs: bpf_ctlmap_next_ifindex()
 * and bpf_ctlmap_xdp_stats() (bpf/ctlmap_syscall.bpf.c uses them).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/capability.h>
#include <linux/delay.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/version.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/xdp.h>
#include <net/xdp_sock_drv.h>

#include "xdpctl/ctlmap.h"

#define CTL_HEAD_SIZE 12 /* ifindex, command, avail: every value starts with them */
#define CTL_VALUE_MAX 4096
#define CTL_NDEV (BPF_CTRL_TYPE_MAX + 1)

static const char *const ctl_names[CTL_NDEV] = {
	[BPF_CTRL_XDP_STATS] = "ctl_xdp_stats",
	[BPF_CTRL_XDP_ATTR] = "ctl_xdp_attr",
	[BPF_CTRL_XDP_MD] = "ctl_xdp_md",
};

struct ctl_priv {
	u32 type; /* enum bpf_ctrl_type */
};

struct ctl_net {
	struct net_device *dev[CTL_NDEV];
};

static unsigned int ctl_net_id;
static struct bpf_offload_dev *ctl_offdev;

/* the union keeps one stack buffer for whichever struct the type uses */
union ctl_value {
	struct bpf_ctrl_xdp_stats stats;
	struct bpf_ctrl_xdp_attr attr;
	struct bpf_ctrl_xdp_md md;
};

static size_t ctl_value_size(u32 type)
{
	switch (type) {
	case BPF_CTRL_XDP_STATS:
		return sizeof(struct bpf_ctrl_xdp_stats);
	case BPF_CTRL_XDP_ATTR:
		return sizeof(struct bpf_ctrl_xdp_attr);
	case BPF_CTRL_XDP_MD:
		return sizeof(struct bpf_ctrl_xdp_md);
	}
	return 0;
}

/* rtnl_trylock() retried for a bounded time: see "Locking" above */
static bool ctl_rtnl_trylock(void)
{
	int i;

	/* ~200-400 ms: a netns being torn down holds rtnl for tens of ms natively, longer under
	 * emulation; the kernel's own offload paths that could deadlock with us just wait that long
	 */
	for (i = 0; i < 2000; i++) {
		if (rtnl_trylock())
			return true;
		usleep_range(100, 200);
	}
	return false;
}

/* veth keeps its peer as the first member of its private area (6.1 .. 6.12) */
static bool ctl_is_veth(const struct net_device *dev)
{
	return dev->rtnl_link_ops && !strcmp(dev->rtnl_link_ops->kind, "veth");
}

static struct net_device *ctl_veth_peer(struct net_device *dev)
{
	struct net_device __rcu **peer = netdev_priv(dev);

	return rtnl_dereference(*peer);
}

/* dev_xdp_prog_id() is not exported: the same walk over dev->xdp_state, under rtnl. A link's
 * struct bpf_xdp_link starts with its struct bpf_link.
 */
static struct bpf_prog *ctl_xdp_prog(struct net_device *dev, enum bpf_xdp_mode mode)
{
	struct bpf_xdp_entity *e = &dev->xdp_state[mode];

	return e->link ? ((struct bpf_link *)(void *)e->link)->prog : e->prog;
}

static u32 ctl_xdp_prog_id(struct net_device *dev, enum bpf_xdp_mode mode)
{
	struct bpf_prog *prog = ctl_xdp_prog(dev, mode);

	return prog ? prog->aux->id : 0;
}

/* 1: frames redirected to dev are transmitted. veth: its peer is up and has an XDP program or
 * GRO (that is when veth runs the peer's NAPI that ndo_xdp_xmit feeds). Others (6.3+): the
 * driver announces NETDEV_XDP_ACT_NDO_XMIT. -1: unknown.
 */
static int ctl_redirect_ready(struct net_device *dev)
{
	struct net_device *peer;

	if (ctl_is_veth(dev)) {
		peer = ctl_veth_peer(dev);
		if (!peer || !(dev->flags & IFF_UP) || !(peer->flags & IFF_UP))
			return 0;
		return ctl_xdp_prog_id(peer, XDP_MODE_DRV) || (peer->wanted_features & NETIF_F_GRO);
	}
	if (!dev->netdev_ops->ndo_xdp_xmit)
		return 0;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return !!(dev->xdp_features & NETDEV_XDP_ACT_NDO_XMIT);
#else
	return -1;
#endif
}

static void ctl_fill_stats(struct net_device *dev, struct bpf_ctrl_xdp_stats *s)
{
	struct rtnl_link_stats64 st;

	dev_get_stats(dev, &st);
	s->avail = BPF_CTRL_STATS_LINK;
	s->rx_packets = st.rx_packets;
	s->rx_bytes = st.rx_bytes;
	s->rx_dropped = st.rx_dropped;
	s->tx_packets = st.tx_packets;
	s->tx_bytes = st.tx_bytes;
	s->tx_dropped = st.tx_dropped;
	/* xdp[] and the tracepoint counts live in the loader's pinned maps: the user-space side
	 * of the kernel backend adds them (BPF_CTRL_STATS_XDP_ACTIONS / _ERRORS stay clear here).
	 */
}

static void ctl_fill_features(struct net_device *dev, struct bpf_ctrl_xdp_attr *a)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	a->xdp_features = READ_ONCE(dev->xdp_features);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	if (dev->xsk_tx_metadata_ops) {
		if (dev->xsk_tx_metadata_ops->tmo_fill_timestamp)
			a->xsk_features |= NETDEV_XSK_FLAGS_TX_TIMESTAMP;
		if (dev->xsk_tx_metadata_ops->tmo_request_checksum)
			a->xsk_features |= NETDEV_XSK_FLAGS_TX_CHECKSUM;
	}
	a->avail |= BPF_CTRL_ATTR_XSK_FEATURES;
#endif
	a->avail |= BPF_CTRL_ATTR_FEATURES;
#endif
}

/* under rtnl */
static void ctl_fill_attr_rtnl(struct net_device *dev, struct bpf_ctrl_xdp_attr *a)
{
	const struct ethtool_ops *ops = dev->ethtool_ops;
	u32 ids[3] = {
		ctl_xdp_prog_id(dev, XDP_MODE_SKB),
		ctl_xdp_prog_id(dev, XDP_MODE_DRV),
		ctl_xdp_prog_id(dev, XDP_MODE_HW),
	};
	static const u32 modes[3] = { XDP_ATTACHED_SKB, XDP_ATTACHED_DRV, XDP_ATTACHED_HW };
	int i, n = 0, ready;

	/* the same answer as rtnetlink's IFLA_XDP */
	a->attach_mode = XDP_ATTACHED_NONE;
	for (i = 0; i < 3; i++) {
		if (!ids[i])
			continue;
		n++;
		a->attach_mode = modes[i];
		a->prog_id = ids[i];
	}
	if (n > 1) {
		a->attach_mode = XDP_ATTACHED_MULTI;
		a->prog_id = 0;
	}
	a->skb_prog_id = ids[0];
	a->drv_prog_id = ids[1];
	a->hw_prog_id = ids[2];
	a->avail |= BPF_CTRL_ATTR_PROGS;

	if (ops && ops->get_ringparam) {
		struct ethtool_ringparam r = { .cmd = ETHTOOL_GRINGPARAM };
		struct kernel_ethtool_ringparam kr = {};

		ops->get_ringparam(dev, &r, &kr, NULL);
		a->rx_ring_size = r.rx_pending;
		a->rx_ring_max = r.rx_max_pending;
		a->tx_ring_size = r.tx_pending;
		a->tx_ring_max = r.tx_max_pending;
		a->rings.size = r.tx_pending;
		a->avail |= BPF_CTRL_ATTR_RINGS;
	}
	if (ops && ops->get_channels) {
		struct ethtool_channels c = { .cmd = ETHTOOL_GCHANNELS };

		ops->get_channels(dev, &c);
		a->combined_channels = c.combined_count;
		a->combined_max = c.max_combined;
		a->rx_channels = c.rx_count;
		a->rx_max = c.max_rx;
		a->tx_channels = c.tx_count;
		a->tx_max = c.max_tx;
		/* as SETUP_REDIRECT sets it: combined queues, or rx = tx where there are none */
		a->rings.num = c.max_combined ? c.combined_count : c.tx_count;
		a->avail |= BPF_CTRL_ATTR_CHANNELS;
	}
	ready = ctl_redirect_ready(dev);
	if (ready >= 0) {
		a->redirect_target_ready = ready;
		a->avail |= BPF_CTRL_ATTR_REDIRECT_TARGET;
	}
}

static void ctl_fill_md(struct net_device *dev, struct bpf_ctrl_xdp_md *m, bool rtnl)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	const struct xdp_metadata_ops *ops = dev->xdp_metadata_ops;
	struct bpf_prog *prog;

	if (ops) {
		if (ops->xmo_rx_timestamp)
			m->rx_metadata_features |= NETDEV_XDP_RX_METADATA_TIMESTAMP;
		if (ops->xmo_rx_hash)
			m->rx_metadata_features |= NETDEV_XDP_RX_METADATA_HASH;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
		if (ops->xmo_rx_vlan_tag)
			m->rx_metadata_features |= NETDEV_XDP_RX_METADATA_VLAN_TAG;
#endif
	}
	m->avail |= BPF_CTRL_MD_FEATURES;
	if (!rtnl)
		return;
	/* metadata is on when a device-bound program is attached in driver mode; the BTF ids of
	 * its metadata struct need btf_obj_id()/btf_find_by_name_kind(), which modules cannot
	 * call: md_btf_* and md_size stay 0 and the loader fills them from the program.
	 */
	prog = ctl_xdp_prog(dev, XDP_MODE_DRV);
	if (prog && prog->aux->dev_bound) {
		m->enable_md = 1;
		m->prog_id = prog->aux->id;
	}
	m->avail |= BPF_CTRL_MD_STATE;
#else
	/* 6.1 has neither RX metadata kfuncs nor device-bound programs: no features to report,
	 * and metadata is off on every device (enable_md 0 is known)
	 */
	m->avail |= BPF_CTRL_MD_STATE;
#endif
}

/* fills v for dev; returns the struct size of the type */
static size_t ctl_fill(u32 type, struct net_device *dev, union ctl_value *v)
{
	bool rtnl = false;

	memset(v, 0, sizeof(*v));
	v->stats.ifindex = dev->ifindex; /* the common head */
	switch (type) {
	case BPF_CTRL_XDP_STATS:
		ctl_fill_stats(dev, &v->stats);
		break;
	case BPF_CTRL_XDP_ATTR:
		ctl_fill_features(dev, &v->attr);
		if (ctl_rtnl_trylock()) {
			ctl_fill_attr_rtnl(dev, &v->attr);
			rtnl_unlock();
		}
		break;
	case BPF_CTRL_XDP_MD:
		rtnl = ctl_rtnl_trylock();
		ctl_fill_md(dev, &v->md, rtnl);
		if (rtnl)
			rtnl_unlock();
		break;
	}
	return ctl_value_size(type);
}

static u32 ctl_next_ifindex(struct net *net, u32 cur)
{
	struct net_device *dev;
	u32 best = 0;

	rcu_read_lock();
	for_each_netdev_rcu(net, dev) {
		u32 i = dev->ifindex;

		if (i > cur && (!best || i < best))
			best = i;
	}
	rcu_read_unlock();
	return best;
}

/* --- bpf_map_dev_ops ------------------------------------------------------------------- */

static u32 ctl_map_type(struct bpf_offloaded_map *offmap)
{
	struct ctl_priv *p = netdev_priv(offmap->netdev);

	return p->type;
}

/* Keys are the namespace's ifindexes in ascending order: no key gives the smallest, a key the
 * smallest one above it, the largest -ENOENT. A key that no netdev of the namespace has (0, one
 * never used, one whose device was deleted after the walk returned it) starts the walk over from
 * the smallest ifindex. That is what the map types a control map is created as do with a key they
 * do not hold: htab_map_get_next_key() (kernel/bpf/hashtab.c) goes to find_first_elem when the
 * lookup of the key fails, array_map_get_next_key() (kernel/bpf/arraymap.c) returns index 0 for
 * an index out of range; both so in 6.1 and 6.12. A control map keeps the contract of the map it
 * is created as, so walkers written for those (bpftool map dump, bpf_map_get_next_key() loops)
 * get the answers they know: after a vanished key the walk starts over and they see the devices
 * before it twice, none skipped. The ascending order makes a restart visible (a key not above the
 * previous one), so a walker that wants each device once skips those (xdpctl ctl does). As on a
 * hash map, devices deleted and created without pause can keep a walk going.
 */
static int ctl_map_get_next_key(struct bpf_offloaded_map *offmap, void *key, void *next_key)
{
	struct net *net = dev_net(offmap->netdev);
	u32 cur = key ? *(u32 *)key : 0;
	u32 next;

	if (cur) {
		bool known;

		rcu_read_lock();
		known = cur <= INT_MAX && dev_get_by_index_rcu(net, cur);
		rcu_read_unlock();
		if (!known)
			cur = 0; /* restart, as from no key */
	}
	next = ctl_next_ifindex(net, cur);
	if (!next)
		return -ENOENT;
	*(u32 *)next_key = next;
	return 0;
}

static int ctl_map_lookup_elem(struct bpf_offloaded_map *offmap, void *key, void *value)
{
	u32 ifindex = *(u32 *)key, vsize = offmap->map.value_size;
	struct net_device *dev;
	union ctl_value v;
	size_t n;

	if (!ifindex || ifindex > INT_MAX)
		return -ENOENT;
	dev = dev_get_by_index(dev_net(offmap->netdev), ifindex);
	if (!dev)
		return -ENOENT;
	n = ctl_fill(ctl_map_type(offmap), dev, &v);
	dev_put(dev);
	memset(value, 0, vsize);
	memcpy(value, &v, min_t(size_t, n, vsize));
	return 0;
}

/* ethtool's own checks for a channel change that this module repeats (it calls the driver) */
static int ctl_set_channels(struct net_device *dev, u32 num)
{
	const struct ethtool_ops *ops = dev->ethtool_ops;
	struct ethtool_channels cur = { .cmd = ETHTOOL_GCHANNELS }, want;
	u32 i, old;

	if (!ops || !ops->get_channels || !ops->set_channels)
		return -EOPNOTSUPP;
	ops->get_channels(dev, &cur);
	want = cur;
	if (cur.max_combined) {
		if (num > cur.max_combined)
			return -EINVAL;
		want.combined_count = num;
		old = cur.combined_count;
	} else if (cur.max_rx && cur.max_tx) {
		if (num > cur.max_rx || num > cur.max_tx)
			return -EINVAL;
		want.rx_count = num;
		want.tx_count = num;
		old = max(cur.rx_count, cur.tx_count);
	} else {
		return -EOPNOTSUPP;
	}
	if (!memcmp(&want, &cur, sizeof(cur)))
		return 0;
	if (num < old && netif_is_rxfh_configured(dev))
		return -EBUSY;
	for (i = num; i < old; i++)
		if (xsk_get_pool_from_qid(dev, i))
			return -EBUSY; /* an AF_XDP socket uses a queue that would go */
	want.cmd = ETHTOOL_SCHANNELS;
	return ops->set_channels(dev, &want);
}

static int ctl_check_tx_ring(struct net_device *dev, u32 size)
{
	const struct ethtool_ops *ops = dev->ethtool_ops;
	struct ethtool_ringparam r = { .cmd = ETHTOOL_GRINGPARAM };
	struct kernel_ethtool_ringparam kr = {};

	if (!ops || !ops->get_ringparam || !ops->set_ringparam)
		return -EOPNOTSUPP;
	ops->get_ringparam(dev, &r, &kr, NULL);
	return size > r.tx_max_pending ? -EINVAL : 0;
}

static int ctl_set_tx_ring(struct net_device *dev, u32 size)
{
	const struct ethtool_ops *ops = dev->ethtool_ops;
	struct ethtool_ringparam r = { .cmd = ETHTOOL_GRINGPARAM };
	struct kernel_ethtool_ringparam kr = {};
	struct netlink_ext_ack extack = {};

	if (!ops || !ops->get_ringparam || !ops->set_ringparam)
		return -EOPNOTSUPP;
	ops->get_ringparam(dev, &r, &kr, &extack);
	if (size > r.tx_max_pending)
		return -EINVAL;
	if (r.tx_pending == size)
		return 0;
	r.cmd = ETHTOOL_SRINGPARAM;
	r.tx_pending = size;
	return ops->set_ringparam(dev, &r, &kr, &extack);
}

/* SETUP_REDIRECT: queues and TX ring as asked, and on veth the peer's readiness (GRO on, which
 * makes veth run the NAPI instance that frames redirected to dev are fed to). Under rtnl.
 */
static int ctl_setup_redirect(struct net_device *dev, const struct bpf_ctrl_xdp_attr *a)
{
	struct net_device *peer;
	int err;

	if (!dev->netdev_ops->ndo_xdp_xmit)
		return -EOPNOTSUPP; /* the driver cannot transmit XDP frames at all */
	/* a ring size the driver cannot take fails before the channels change: nothing changed */
	if (a->rings.size) {
		err = ctl_check_tx_ring(dev, a->rings.size);
		if (err)
			return err;
	}
	if (a->rings.num) {
		err = ctl_set_channels(dev, a->rings.num);
		if (err)
			return err;
	}
	if (a->rings.size) {
		err = ctl_set_tx_ring(dev, a->rings.size);
		if (err)
			return err;
	}
	if (!ctl_is_veth(dev))
		return 0;
	peer = ctl_veth_peer(dev);
	if (!peer)
		return -ENOTCONN;
	if (ctl_xdp_prog_id(peer, XDP_MODE_DRV) || (peer->wanted_features & NETIF_F_GRO))
		return 0;
	if (!ns_capable(dev_net(peer)->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	peer->wanted_features |= NETIF_F_GRO;
	netdev_update_features(peer);
	return 0;
}

static int ctl_map_update_elem(struct bpf_offloaded_map *offmap, void *key, void *value, u64 flags)
{
	u32 ifindex = *(u32 *)key, vsize = offmap->map.value_size, type = ctl_map_type(offmap);
	struct net *net = dev_net(offmap->netdev);
	union ctl_value v = {};
	struct net_device *dev;
	int err;

	if (flags == BPF_NOEXIST)
		return -EEXIST; /* entries are the namespace's netdevs: none can be added */
	if (!ifindex || ifindex > INT_MAX)
		return -ENOENT;
	memcpy(&v, value, min_t(size_t, vsize, sizeof(v)));
	if (v.stats.ifindex && v.stats.ifindex != ifindex)
		return -EINVAL; /* the head's ifindex, when given, must be the key */

	switch (type) {
	case BPF_CTRL_XDP_STATS:
		return -EINVAL; /* read only: XDP_STATS takes no command */
	case BPF_CTRL_XDP_ATTR:
		if (v.attr.command != BPF_CTRL_SETUP_REDIRECT)
			return -EINVAL;
		if (vsize < offsetofend(struct bpf_ctrl_xdp_attr, rings))
			return -EINVAL;
		break;
	case BPF_CTRL_XDP_MD:
		if (v.md.command != BPF_CTRL_SETUP_MD)
			return -EINVAL;
		if (vsize < offsetofend(struct bpf_ctrl_xdp_md, enable_md) || v.md.enable_md > 1)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	/* What needs no rtnl is decided without it, whoever holds rtnl (netns cleanup can hold it
	 * for longer than the trylock window in a TCG guest): a missing device is -ENOENT,
	 * SETUP_MD and a device that cannot transmit XDP frames are -EOPNOTSUPP (netdev_ops do not
	 * change while the device lives). The lookup under rtnl below still decides the rest.
	 */
	rcu_read_lock();
	dev = dev_get_by_index_rcu(net, ifindex);
	if (!dev)
		err = -ENOENT;
	else if (type == BPF_CTRL_XDP_MD || !dev->netdev_ops->ndo_xdp_xmit)
		err = -EOPNOTSUPP;
	else
		err = 0;
	rcu_read_unlock();
	if (err)
		return err;
	if (!ctl_rtnl_trylock())
		return -EAGAIN;
	dev = __dev_get_by_index(net, ifindex);
	if (!dev)
		err = -ENOENT;
	else if (type == BPF_CTRL_XDP_ATTR)
		err = ctl_setup_redirect(dev, &v.attr);
	else
		/* turning metadata on means attaching a device-bound program: a module cannot load
		 * one, so the kernel backend leaves SETUP_MD to the loader
		 */
		err = -EOPNOTSUPP;
	rtnl_unlock();
	return err;
}

static int ctl_map_delete_elem(struct bpf_offloaded_map *offmap, void *key)
{
	return -EOPNOTSUPP; /* netdevs are not deleted through a control map */
}

static const struct bpf_map_dev_ops ctl_map_ops = {
	.map_get_next_key = ctl_map_get_next_key,
	.map_lookup_elem = ctl_map_lookup_elem,
	.map_update_elem = ctl_map_update_elem,
	.map_delete_elem = ctl_map_delete_elem,
};

/* BPF_OFFLOAD_MAP_ALLOC, under rtnl: validate the shape once, so every op can rely on it */
static int ctl_map_alloc(struct net_device *dev, struct bpf_offloaded_map *offmap)
{
	const struct bpf_map *map = &offmap->map;

	if (map->key_size != sizeof(u32))
		return -EINVAL;
	if (map->value_size < CTL_HEAD_SIZE || map->value_size > CTL_VALUE_MAX)
		return -EINVAL;
	offmap->dev_ops = &ctl_map_ops;
	offmap->dev_priv = NULL;
	return 0;
}

static int ctl_ndo_bpf(struct net_device *dev, struct netdev_bpf *bpf)
{
	switch (bpf->command) {
	case BPF_OFFLOAD_MAP_ALLOC:
		return ctl_map_alloc(dev, bpf->offmap);
	case BPF_OFFLOAD_MAP_FREE:
		return 0;
	default:
		return -EOPNOTSUPP; /* no XDP programs on a control netdev */
	}
}

/* programs cannot be offloaded to a control netdev */
static int ctl_prog_prepare(struct bpf_prog *prog)
{
	return -EOPNOTSUPP;
}

static int ctl_prog_insn_hook(struct bpf_verifier_env *env, int insn_idx, int prev_insn_idx)
{
	return -EOPNOTSUPP;
}

static int ctl_prog_translate(struct bpf_prog *prog)
{
	return -EOPNOTSUPP;
}

static void ctl_prog_destroy(struct bpf_prog *prog)
{
}

static const struct bpf_prog_offload_ops ctl_offload_ops = {
	.insn_hook = ctl_prog_insn_hook,
	.prepare = ctl_prog_prepare,
	.translate = ctl_prog_translate,
	.destroy = ctl_prog_destroy,
};

static netdev_tx_t ctl_xmit(struct sk_buff *skb, struct net_device *dev)
{
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops ctl_netdev_ops = {
	.ndo_start_xmit = ctl_xmit,
	.ndo_bpf = ctl_ndo_bpf,
};

static void ctl_setup(struct net_device *dev)
{
	dev->netdev_ops = &ctl_netdev_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->tx_queue_len = 0;
	dev->mtu = ETH_DATA_LEN;
	dev->needs_free_netdev = true;
#ifdef NETIF_F_NETNS_LOCAL
	dev->features |= NETIF_F_NETNS_LOCAL;
#else
	dev->netns_immutable = 1;
#endif
}

/* --- per-namespace control netdevs ------------------------------------------------------ */

static void ctl_net_remove(struct ctl_net *cn)
{
	int t;

	rtnl_lock();
	for (t = 1; t < CTL_NDEV; t++) {
		if (!cn->dev[t])
			continue;
		bpf_offload_dev_netdev_unregister(ctl_offdev, cn->dev[t]);
		unregister_netdevice(cn->dev[t]);
		cn->dev[t] = NULL;
	}
	rtnl_unlock();
}

static int __net_init ctl_net_init(struct net *net)
{
	struct ctl_net *cn = net_generic(net, ctl_net_id);
	struct net_device *dev;
	int t, err;

	for (t = 1; t < CTL_NDEV; t++) {
		dev = alloc_netdev(sizeof(struct ctl_priv), ctl_names[t], NET_NAME_PREDICTABLE, ctl_setup);
		if (!dev) {
			err = -ENOMEM;
			goto fail;
		}
		((struct ctl_priv *)netdev_priv(dev))->type = t;
		dev_net_set(dev, net);
		rtnl_lock();
		err = register_netdevice(dev);
		if (err) {
			rtnl_unlock();
			free_netdev(dev);
			goto fail;
		}
		err = bpf_offload_dev_netdev_register(ctl_offdev, dev);
		if (err) {
			unregister_netdevice(dev);
			rtnl_unlock();
			goto fail;
		}
		cn->dev[t] = dev;
		rtnl_unlock();
	}
	return 0;
fail:
	pr_warn("cannot create %s: %d\n", ctl_names[t], err);
	ctl_net_remove(cn);
	return err;
}

static void __net_exit ctl_net_exit(struct net *net)
{
	ctl_net_remove(net_generic(net, ctl_net_id));
}

static struct pernet_operations ctl_net_ops = {
	.init = ctl_net_init,
	.exit = ctl_net_exit,
	.id = &ctl_net_id,
	.size = sizeof(struct ctl_net),
};

/* --- kfuncs for SEC("syscall") programs ------------------------------------------------- */

#ifndef __bpf_kfunc
#define __bpf_kfunc __used noinline /* 6.1: no __bpf_kfunc yet */
#endif

__diag_push();
__diag_ignore_all("-Wmissing-prototypes", "kfuncs are called from BPF programs only");

/* The next ifindex after `ifindex` in the calling task's network namespace, 0 after the last:
 * for (i = bpf_ctlmap_next_ifindex(0); i; i = bpf_ctlmap_next_ifindex(i)) ...
 */
__bpf_kfunc u32 bpf_ctlmap_next_ifindex(u32 ifindex)
{
	return ctl_next_ifindex(current->nsproxy->net_ns, ifindex);
}

/* The XDP_STATS value of one netdev of the calling task's namespace into out (its first out__sz
 * bytes, the rest of a longer buffer zeroed). 0, -ENOENT (no such ifindex) or -EINVAL (out__sz
 * shorter than the 12-byte head).
 */
__bpf_kfunc int bpf_ctlmap_xdp_stats(u32 ifindex, void *out, u32 out__sz)
{
	struct net_device *dev;
	union ctl_value v;
	size_t n;

	if (out__sz < CTL_HEAD_SIZE)
		return -EINVAL;
	if (!ifindex || ifindex > INT_MAX)
		return -ENOENT;
	dev = dev_get_by_index(current->nsproxy->net_ns, ifindex);
	if (!dev)
		return -ENOENT;
	n = ctl_fill(BPF_CTRL_XDP_STATS, dev, &v);
	dev_put(dev);
	memset(out, 0, out__sz);
	memcpy(out, &v, min_t(size_t, n, out__sz));
	return 0;
}

__diag_pop();

#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(ctl_kfunc_ids)
#else
BTF_SET8_START(ctl_kfunc_ids)
#endif
BTF_ID_FLAGS(func, bpf_ctlmap_next_ifindex)
BTF_ID_FLAGS(func, bpf_ctlmap_xdp_stats)
#ifdef BTF_KFUNCS_END
BTF_KFUNCS_END(ctl_kfunc_ids)
#else
BTF_SET8_END(ctl_kfunc_ids)
#endif

static const struct btf_kfunc_id_set ctl_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &ctl_kfunc_ids,
};

/* keeps the value structs in the module's BTF even if the compiler folds the union away */
static struct bpf_ctrl_xdp_stats *ctl_btf_stats __used;
static struct bpf_ctrl_xdp_attr *ctl_btf_attr __used;
static struct bpf_ctrl_xdp_md *ctl_btf_md __used;

static int __init ctl_init(void)
{
	int err;

	ctl_offdev = bpf_offload_dev_create(&ctl_offload_ops, NULL);
	if (IS_ERR(ctl_offdev))
		return PTR_ERR(ctl_offdev);
	err = register_pernet_device(&ctl_net_ops);
	if (err)
		goto err_offdev;
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &ctl_kfunc_set);
	if (err) /* no module BTF (built without vmlinux/pahole): the maps still work */
		pr_warn("kfuncs not registered (%d): module built without BTF?\n", err);
	return 0;

err_offdev:
	bpf_offload_dev_destroy(ctl_offdev);
	return err;
}

static void __exit ctl_exit(void)
{
	unregister_pernet_device(&ctl_net_ops);
	bpf_offload_dev_destroy(ctl_offdev);
}

module_init(ctl_init);
module_exit(ctl_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("BPF control maps (XDP_STATS, XDP_ATTR, XDP_MD) over offloaded-map netdevs");
