// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_monitor: count what XDP did wrong, from the kernel's xdp: tracepoints.
 *
 *   xdp:xdp_exception       XDP_ABORTED or an invalid verdict   -> xdpctl_mon_exc {ifindex, action}
 *   xdp:xdp_redirect_err    a redirect that failed at once      -> xdpctl_mon_rerr {ifindex, errno}
 *   xdp:xdp_redirect_map_err  the same on kernels that still fire it (gone in 6.18)
 *   xdp:xdp_devmap_xmit     one flush of a devmap bulk queue    -> xdpctl_mon_xmit {from, to}
 *
 * Keys and values are in include/xdpctl/monitor.h. The maps are per-CPU hashes: a tracepoint
 * runs on the CPU that took the event, so each CPU adds to its own slot without atomics, and a
 * reader sums the slots. Each map holds at most XDPCTL_MON_MAX_ENTRIES keys; events for keys
 * beyond that are not counted.
 *
 * Tracepoints fire for every network namespace, and ifindexes are only unique inside one, so
 * the loader sets rodata netns_ino to the inode of its namespace (/proc/self/ns/net) and only
 * devices of that namespace are counted (0 counts all, keys then mix namespaces).
 *
 * tp_btf programs get the tracepoint's typed arguments (struct net_device *, ...), so no
 * tracefs format is parsed. A tp_btf program whose tracepoint the running kernel lacks would
 * fail the whole load: the loader (loader/src/monitor.cpp) looks every program's tracepoint up
 * in the kernel BTF first and turns autoload off for the missing ones. That is what breaks
 * Debian's xdp-tools 1.3.1 on 6.18: it requires tp_btf/xdp_redirect_map_err.
 *
 * Maps: xdpctl_mon_exc, xdpctl_mon_rerr, xdpctl_mon_xmit (written here, read by user space).
 * Load: xdpctl::Monitor::start(netns_ino) (loader/include/xdpctl/monitor.hpp) loads, filters
 *       and attaches it, Monitor::read() sums the maps; the CLI pins the maps under
 *       ROOT/ns<NS>/monitor/ while it runs, and `xdpctl stats` reads them from there.
 * Test: tests/prog_xdp_monitor_test.cpp makes each event happen in a test namespace (a native
 *       XDP program aborting on a veth, a live test run redirecting to a missing ifindex,
 *       devmap redirects into a veth whose peer is or is not ready) and checks exact counts,
 *       and that events of another namespace are not counted.
 */
#include "lib/common.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "xdpctl/monitor.h"

#define XDPCTL_MON_MAX_ENTRIES 1024

/* 0: count every namespace */
const volatile __u32 netns_ino = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XDPCTL_MON_MAX_ENTRIES);
	__type(key, struct xdpctl_mon_key);
	__type(value, __u64);
} xdpctl_mon_exc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XDPCTL_MON_MAX_ENTRIES);
	__type(key, struct xdpctl_mon_key);
	__type(value, __u64);
} xdpctl_mon_rerr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XDPCTL_MON_MAX_ENTRIES);
	__type(key, struct xdpctl_mon_xmit_key);
	__type(value, struct xdpctl_mon_xmit);
} xdpctl_mon_xmit SEC(".maps");

/* dev->nd_net.net->ns.inum, relocated by CO-RE: the offsets differ between kernels */
static __always_inline bool in_our_netns(const struct net_device *dev)
{
	if (!netns_ino)
		return true;
	return BPF_CORE_READ(dev, nd_net.net, ns.inum) == netns_ino;
}

/* Per-CPU slot of key, created zeroed on first use (an update from BPF zeroes the other CPUs). */
static __always_inline void *slot(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void count(void *map, __u32 ifindex, __u32 code)
{
	struct xdpctl_mon_key key = {.ifindex = ifindex, .code = code};
	__u64 zero = 0, *n;

	n = slot(map, &key, &zero);
	if (n)
		(*n)++;
}

SEC("tp_btf/xdp_exception")
int BPF_PROG(xdp_mon_exception, const struct net_device *dev, const struct bpf_prog *xdp, u32 act)
{
	if (in_our_netns(dev))
		count(&xdpctl_mon_exc, BPF_CORE_READ(dev, ifindex), act);
	return 0;
}

/* Only dev and err are read: the arguments after err changed over the years (map pointer, then
 * map type and id), so the others are left out of the prototype on purpose.
 */
static __always_inline void redirect_err(const struct net_device *dev, int err)
{
	if (in_our_netns(dev))
		count(&xdpctl_mon_rerr, BPF_CORE_READ(dev, ifindex), err < 0 ? -err : err);
}

SEC("tp_btf/xdp_redirect_err")
int BPF_PROG(xdp_mon_redirect_err, const struct net_device *dev, const struct bpf_prog *xdp,
	     const void *tgt, int err)
{
	redirect_err(dev, err);
	return 0;
}

/* Fired for map redirects by old (4.x) kernels; later only declared, never fired (6.1 still
 * has it), and removed by 6.18. Loaded only where the kernel has it.
 */
SEC("tp_btf/xdp_redirect_map_err")
int BPF_PROG(xdp_mon_redirect_map_err, const struct net_device *dev, const struct bpf_prog *xdp,
	     const void *tgt, int err)
{
	redirect_err(dev, err);
	return 0;
}

/* One event per flush of a devmap bulk queue (up to 16 frames): sent + drops frames, err set
 * when ndo_xdp_xmit failed as a whole. Filtered by the receiving device's namespace; to_dev is
 * a device of the namespace that filled the devmap.
 */
SEC("tp_btf/xdp_devmap_xmit")
int BPF_PROG(xdp_mon_devmap_xmit, const struct net_device *from_dev,
	     const struct net_device *to_dev, int sent, int drops, int err)
{
	struct xdpctl_mon_xmit_key key;
	struct xdpctl_mon_xmit zero = {}, *v;

	if (!in_our_netns(from_dev))
		return 0;
	key.from_ifindex = BPF_CORE_READ(from_dev, ifindex);
	key.to_ifindex = BPF_CORE_READ(to_dev, ifindex);
	v = slot(&xdpctl_mon_xmit, &key, &zero);
	if (!v)
		return 0;
	v->sent += sent;
	v->drops += drops;
	if (err)
		v->errors++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
