// The control map's user-space backend: today's kernels answer the proposal's three use cases
// through rtnetlink, the netdev and ethtool genl families, and the maps xdpctl's programs pin.
//
//   XDP_STATS  link stats64 (rtnetlink), per-action counters (ROOT/ns<NS>/if<IFINDEX>/
//              xdpctl_stats, counted only while that map belongs to the attached program), error
//              counts (ROOT/ns<NS>/monitor/*), qstats (netdev qstats-get)
//   XDP_ATTR   IFLA_XDP, netdev dev-get, ethtool rings and channels; redirect_target_ready from
//              the veth peer's state (native XDP program or GRO, and up) or xdp-features NDO_XMIT
//   XDP_MD     netdev dev-get rx metadata features; the attached xdp_meta_kfunc program.
//              SETUP_MD loads it through the loader (pinned link) or unloads it (shared.cpp)
//
// Freshness. A walk over every netdev asks the kernel once, not once per device: get_next_key
// from no key (or from a key when no walk is going on) takes a snapshot of the namespace, one
// RTM_GETLINK dump and, by type, one netdev qstats-get dump and one pass over the monitor's maps
// (XDP_STATS) or one netdev dev-get dump (XDP_ATTR, XDP_MD). While that walk goes on, the first
// lookup of a key in the snapshot is answered from it, after checking (SIOCGIFNAME) that the
// device still exists under the same name. Everything else asks the kernel: a lookup outside a
// walk, of a key not in the snapshot (a device created after it), a second lookup of the same
// key in the walk, any lookup once the snapshot is older than kSnapshotMaxAge, or after an
// update on this map. The walk ends when get_next_key returns ENOENT, after one more listing of
// the namespace's ifindexes for devices created during the walk; a key no netdev has any more
// starts it over with a new snapshot (get_next_key, as the module). The per-action counters
// of xdpctl's programs are read from their maps at every lookup, snapshot or not; ethtool rings,
// channels and features (XDP_ATTR) are asked per device.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "shared.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/nl.hpp"

namespace xdpctl::ctl {
namespace {

std::string ifobj(uint32_t ifindex)
{
	return "ifindex " + std::to_string(ifindex);
}

template <class T>
T value_of(std::span<const std::byte> v)
{
	T t;
	std::memcpy(&t, v.data(), sizeof(T));
	return t;
}

template <class T>
void store(std::span<std::byte> out, const T &t)
{
	std::memcpy(out.data(), &t, sizeof(T));
}

std::vector<uint32_t> attached_prog_ids(const nl::Link &l)
{
	return detail::distinct_prog_ids({l.xdp_prog_id, l.xdp_drv_prog_id, l.xdp_skb_prog_id, l.xdp_hw_prog_id});
}

struct Readiness {
	bool known = false;
	bool ready = false;
	std::string why; // when not ready or unknown
	const char *kind = ""; // "veth", "xdp-features"
	uint32_t peer = 0;
	bool peer_up = false, peer_xdp = false, peer_gro = false;
};

// A lookup answered from a walk's snapshot is at most this old.
constexpr auto kSnapshotMaxAge = std::chrono::seconds(1);

// What one walk's dumps said (see Freshness above). Lookups take it as a pointer: nullptr asks
// the kernel.
struct Snapshot {
	std::chrono::steady_clock::time_point taken;
	std::vector<uint32_t> keys; // ascending; a vanished key is dropped when found
	struct Entry {
		nl::Link link;
		bool served = false; // looked up once already in this walk
	};
	std::unordered_map<uint32_t, Entry> links;
	std::map<uint32_t, nl::QStats> qstats;                                          // XDP_STATS
	std::optional<std::unordered_map<uint32_t, detail::MonitorCounts>> monitor;     // XDP_STATS
	std::string ns_dir;                                                             // XDP_STATS
	std::map<uint32_t, nl::NetdevDev> devs;                                         // XDP_ATTR, XDP_MD
};

class UserBackend final : public Backend {
public:
	explicit UserBackend(uint32_t type, nl::Rtnl rt, nl::Genl genl, Fd ioctl_sock)
		: Backend(type), rt_(std::move(rt)), genl_(std::move(genl)), sock_(std::move(ioctl_sock))
	{
	}

	std::string_view name() const override { return "user-space (netlink + pinned maps)"; }

	// As the module's ctl_map_get_next_key() (kmod/bpf_ctlmap.c, which says why): the next larger
	// ifindex that exists now, and a key no netdev has now starts over, as from no key (with a
	// new snapshot: the walk begins again).
	Status get_next_key(const uint32_t *key, uint32_t *next) override
	{
		if (key) {
			auto known = exists(*key);
			if (!known)
				return std::unexpected(known.error());
			if (!*known)
				key = nullptr;
		}
		if (!key || !walk_) {
			if (auto st = take_snapshot(); !st)
				return st;
		}
		uint32_t after = key ? *key : 0;
		bool refreshed_at_end = false;
		for (;;) {
			auto &keys = walk_->keys;
			auto it = key ? std::upper_bound(keys.begin(), keys.end(), after) : keys.begin();
			if (it == keys.end()) {
				// devices created since the snapshot carry larger ifindexes: look once more
				if (refreshed_at_end) {
					walk_.reset(); // the walk is over
					return fail(ENOENT, "get_next_key", ctrl_type_name(type_), "no netdev after this one");
				}
				refreshed_at_end = true;
				if (auto st = add_new_keys(); !st)
					return st;
				continue;
			}
			uint32_t cand = *it;
			auto name = ifname(cand);
			if (name) {
				*next = cand;
				return {};
			}
			if (name.error().err != ENODEV)
				return std::unexpected(name.error());
			keys.erase(it); // vanished since the snapshot: the walk goes on past it
			walk_->links.erase(cand);
		}
	}

	Status lookup(uint32_t ifindex, std::span<std::byte> value) override
	{
		if (auto *e = from_snapshot(ifindex)) {
			e->served = true;
			return lookup_with(e->link, value, &*walk_);
		}
		auto l = link(ifindex, "lookup");
		if (!l)
			return std::unexpected(l.error());
		return lookup_with(*l, value, nullptr);
	}

	Status update(uint32_t ifindex, std::span<const std::byte> value) override
	{
		if (auto st = detail::check_update(type_, ifindex, value); !st)
			return st;
		// what the update changes is not in the snapshot: later lookups ask the kernel
		if (walk_)
			walk_->links.clear();
		auto l = link(ifindex, "update");
		if (!l)
			return std::unexpected(l.error());
		if (type_ == BPF_CTRL_XDP_ATTR)
			return setup_redirect(*l, value_of<struct bpf_ctrl_xdp_attr>(value));
		return setup_md(*l, value_of<struct bpf_ctrl_xdp_md>(value));
	}

private:
	Result<nl::Link> link(uint32_t ifindex, const char *op)
	{
		auto l = rt_.get_link(ifindex);
		if (!l && l.error().err == ENODEV)
			return fail(ENOENT, op, ifobj(ifindex), "no netdev with this ifindex in this namespace");
		return l;
	}

	// The device's name now (SIOCGIFNAME on a socket of the map's namespace): one syscall, where
	// a netlink request would format the whole link. ENODEV when no device has this ifindex.
	Result<std::string> ifname(uint32_t ifindex)
	{
		struct ifreq ifr {};
		ifr.ifr_ifindex = static_cast<int>(ifindex);
		if (ioctl(sock_.get(), SIOCGIFNAME, &ifr) < 0)
			return fail(errno, "SIOCGIFNAME", ifobj(ifindex));
		return std::string(ifr.ifr_name, strnlen(ifr.ifr_name, sizeof(ifr.ifr_name)));
	}

	// Whether a netdev has this ifindex now (a key of get_next_key).
	Result<bool> exists(uint32_t ifindex)
	{
		if (ifindex == 0 || ifindex > INT_MAX)
			return false;
		auto name = ifname(ifindex);
		if (name)
			return true;
		if (name.error().err == ENODEV)
			return false;
		return std::unexpected(name.error());
	}

	// The snapshot's entry for a lookup of ifindex, when the freshness rule lets it answer.
	Snapshot::Entry *from_snapshot(uint32_t ifindex)
	{
		if (!walk_ || std::chrono::steady_clock::now() - walk_->taken > kSnapshotMaxAge)
			return nullptr;
		auto it = walk_->links.find(ifindex);
		if (it == walk_->links.end() || it->second.served)
			return nullptr;
		auto now = ifname(ifindex);
		if (!now || *now != it->second.link.name)
			return nullptr; // gone or renamed: the kernel says what it is now
		return &it->second;
	}

	Status take_snapshot()
	{
		auto links = rt_.dump_links();
		if (!links)
			return std::unexpected(links.error());
		Snapshot s;
		for (auto &l : *links) {
			s.keys.push_back(l.ifindex);
			uint32_t idx = l.ifindex;
			s.links.emplace(idx, Snapshot::Entry{std::move(l)});
		}
		std::sort(s.keys.begin(), s.keys.end());
		// failures below mean "not available", as for one device (lookup_* ignore them too)
		if (type_ == BPF_CTRL_XDP_STATS) {
			if (auto q = genl_.netdev_qstats_dump())
				s.qstats = std::move(*q);
			if (auto l = current_layout()) {
				s.ns_dir = l->ns_dir();
				s.monitor = detail::read_monitor(s.ns_dir);
			}
		} else {
			if (auto d = genl_.netdev_dev_dump())
				s.devs = std::move(*d);
		}
		s.taken = std::chrono::steady_clock::now();
		walk_ = std::move(s);
		return {};
	}

	// The ifindexes of the namespace now: from netdev dev-get's dump, whose messages are a few
	// attributes where a link's carry every counter, or from a link dump before 6.3.
	Result<std::vector<uint32_t>> ifindexes_now()
	{
		std::vector<uint32_t> out;
		if (auto devs = genl_.netdev_dev_dump(); devs && !devs->empty()) {
			for (const auto &[idx, d] : *devs)
				out.push_back(idx);
			return out;
		}
		auto links = rt_.dump_links();
		if (!links)
			return std::unexpected(links.error());
		for (const auto &l : *links)
			out.push_back(l.ifindex);
		return out;
	}

	// At the snapshot's end: the keys of devices created since (larger ifindexes). Their lookups
	// ask the kernel, as they are not in the snapshot's dumps.
	Status add_new_keys()
	{
		auto now = ifindexes_now();
		if (!now)
			return std::unexpected(now.error());
		uint32_t last = walk_->keys.empty() ? 0 : walk_->keys.back();
		std::vector<uint32_t> fresh;
		for (uint32_t idx : *now)
			if (idx > last)
				fresh.push_back(idx);
		std::sort(fresh.begin(), fresh.end());
		walk_->keys.insert(walk_->keys.end(), fresh.begin(), fresh.end());
		return {};
	}

	Status lookup_with(const nl::Link &l, std::span<std::byte> value, const Snapshot *snap)
	{
		switch (type_) {
		case BPF_CTRL_XDP_STATS:
			return lookup_stats(l, value, snap);
		case BPF_CTRL_XDP_ATTR:
			return lookup_attr(l, value, snap);
		case BPF_CTRL_XDP_MD:
			return lookup_md(l, value, snap);
		default:
			return fail(EINVAL, "lookup", "type " + std::to_string(type_), "unknown control type");
		}
	}

	// netdev dev-get of one device: from the snapshot's dump, or asked now.
	std::optional<nl::NetdevDev> netdev_dev(uint32_t ifindex, const Snapshot *snap)
	{
		if (snap) {
			auto it = snap->devs.find(ifindex);
			return it == snap->devs.end() ? std::nullopt : std::optional(it->second);
		}
		if (auto d = genl_.netdev_dev_get(ifindex))
			return *d;
		return std::nullopt;
	}

	Status lookup_stats(const nl::Link &l, std::span<std::byte> out, const Snapshot *snap)
	{
		struct bpf_ctrl_xdp_stats s {};
		s.ifindex = l.ifindex;
		if (l.stats64) {
			s.avail |= BPF_CTRL_STATS_LINK;
			s.rx_packets = l.stats64->rx_packets;
			s.rx_bytes = l.stats64->rx_bytes;
			s.rx_dropped = l.stats64->rx_dropped;
			s.tx_packets = l.stats64->tx_packets;
			s.tx_bytes = l.stats64->tx_bytes;
			s.tx_dropped = l.stats64->tx_dropped;
		}
		std::optional<nl::QStats> q;
		if (snap) {
			detail::add_action_stats(l.ifindex, attached_prog_ids(l), s, snap->ns_dir);
			detail::apply_monitor(snap->monitor, l.ifindex, s);
			if (auto it = snap->qstats.find(l.ifindex); it != snap->qstats.end())
				q = it->second;
		} else {
			detail::add_action_stats(l.ifindex, attached_prog_ids(l), s);
			detail::add_monitor_stats(l.ifindex, s);
			if (auto r = genl_.netdev_qstats_get(l.ifindex); r && *r)
				q = **r;
		}
		if (q) {
			s.avail |= BPF_CTRL_STATS_QSTATS;
			s.qstats_rx_packets = q->rx_packets;
			s.qstats_rx_bytes = q->rx_bytes;
			s.qstats_tx_packets = q->tx_packets;
			s.qstats_tx_bytes = q->tx_bytes;
		}
		store(out, s);
		return {};
	}

	Readiness readiness(const nl::Link &l, const std::optional<nl::NetdevDev> &dev,
			    const Snapshot *snap = nullptr)
	{
		Readiness r;
		if (l.kind == "veth") {
			r.kind = "veth";
			if (!l.link || l.link_other_netns) {
				r.why = l.link ? "the veth peer is in another network namespace" : "the veth has no peer";
				return r;
			}
			// the peer as the same snapshot saw it, or asked now
			const Snapshot::Entry *seen = nullptr;
			if (snap)
				if (auto it = snap->links.find(l.link); it != snap->links.end())
					seen = &it->second;
			auto peer = seen ? Result<nl::Link>(seen->link) : rt_.get_link(l.link);
			if (!peer) {
				r.why = "veth peer: " + peer.error().message();
				return r;
			}
			r.peer = peer->ifindex;
			r.peer_up = peer->flags & IFF_UP;
			// only a native (driver mode) program on the peer turns on its NAPI receive path
			r.peer_xdp = peer->xdp_drv_prog_id != 0;
			auto gro = genl_.feature_active(peer->ifindex, "rx-gro");
			r.peer_gro = gro && *gro;
			if (!gro && !r.peer_xdp) {
				r.why = "veth peer GRO: " + gro.error().message();
				return r;
			}
			r.known = true;
			r.ready = r.peer_up && (r.peer_xdp || r.peer_gro);
			if (!r.ready)
				r.why = !r.peer_up ? "veth peer " + peer->name + " is down"
						   : "veth peer " + peer->name + " has neither a native XDP program nor GRO";
			return r;
		}
		if (dev) {
			r.kind = "xdp-features";
			r.known = true;
			r.ready = dev->xdp_features & NETDEV_XDP_ACT_NDO_XMIT;
			if (!r.ready)
				r.why = "the driver does not transmit redirected frames (no ndo-xmit in xdp-features)";
		}
		return r;
	}

	Status lookup_attr(const nl::Link &l, std::span<std::byte> out, const Snapshot *snap)
	{
		struct bpf_ctrl_xdp_attr a {};
		a.ifindex = l.ifindex;
		if (l.xdp_known) {
			a.avail |= BPF_CTRL_ATTR_PROGS;
			a.attach_mode = l.xdp_attached;
			a.prog_id = l.xdp_prog_id;
			a.drv_prog_id = l.xdp_drv_prog_id;
			a.skb_prog_id = l.xdp_skb_prog_id;
			a.hw_prog_id = l.xdp_hw_prog_id;
		}
		auto dev = netdev_dev(l.ifindex, snap);
		if (auto &d = dev) {
			a.avail |= BPF_CTRL_ATTR_FEATURES;
			a.xdp_features = d->xdp_features;
			if (d->has_xsk_features) {
				a.avail |= BPF_CTRL_ATTR_XSK_FEATURES;
				a.xsk_features = d->xsk_features;
			}
		}
		if (auto r = genl_.rings_get(l.ifindex)) {
			a.avail |= BPF_CTRL_ATTR_RINGS;
			a.rx_ring_size = r->rx;
			a.rx_ring_max = r->rx_max;
			a.tx_ring_size = r->tx;
			a.tx_ring_max = r->tx_max;
			a.rings.size = r->tx;
		}
		if (auto c = genl_.channels_get(l.ifindex)) {
			a.avail |= BPF_CTRL_ATTR_CHANNELS;
			a.combined_channels = c->combined;
			a.combined_max = c->combined_max;
			a.rx_channels = c->rx;
			a.rx_max = c->rx_max;
			a.tx_channels = c->tx;
			a.tx_max = c->tx_max;
			a.rings.num = c->combined_max ? c->combined : c->tx;
		}
		auto r = readiness(l, dev, snap);
		if (r.known) {
			a.avail |= BPF_CTRL_ATTR_REDIRECT_TARGET;
			a.redirect_target_ready = r.ready;
		}
		store(out, a);
		return {};
	}

	// SETUP_REDIRECT: everything is checked before anything changes; a later step that fails
	// undoes the earlier ones.
	Status setup_redirect(const nl::Link &l, const struct bpf_ctrl_xdp_attr &want)
	{
		const std::string obj = l.name.empty() ? ifobj(l.ifindex) : l.name;
		const char *op = "SETUP_REDIRECT";
		std::optional<nl::Rings> rings;
		if (want.rings.size) {
			auto r = genl_.rings_get(l.ifindex);
			if (!r && r.error().err == EOPNOTSUPP)
				return fail(EOPNOTSUPP, op, obj,
					    "the driver has no ring parameters (ethtool rings): ring size " +
						    std::to_string(want.rings.size) + " cannot be set");
			if (!r)
				return std::unexpected(r.error());
			if (want.rings.size > r->tx_max)
				return fail(EINVAL, op, obj,
					    "TX ring size " + std::to_string(want.rings.size) + " over the maximum " +
						    std::to_string(r->tx_max));
			rings = *r;
		}
		std::optional<nl::Channels> chans;
		if (want.rings.num) {
			auto c = genl_.channels_get(l.ifindex);
			if (!c && c.error().err == EOPNOTSUPP)
				return fail(EOPNOTSUPP, op, obj,
					    "the driver has no channel parameters (ethtool channels): " +
						    std::to_string(want.rings.num) + " queues cannot be set");
			if (!c)
				return std::unexpected(c.error());
			uint32_t max = c->combined_max ? c->combined_max : std::min(c->rx_max, c->tx_max);
			if (!max)
				return fail(EOPNOTSUPP, op, obj, "the driver reports no channel maximum");
			if (want.rings.num > max)
				return fail(EINVAL, op, obj,
					    std::to_string(want.rings.num) + " channels over the maximum " +
						    std::to_string(max));
			chans = *c;
		}
		std::optional<nl::NetdevDev> dev;
		if (auto d = genl_.netdev_dev_get(l.ifindex))
			dev = *d;
		auto ready = readiness(l, dev);
		bool peer_gro = false;
		if (l.kind == "veth" && !(ready.known && ready.ready)) {
			if (!ready.known)
				return fail(EOPNOTSUPP, op, obj, "cannot make the veth peer ready: " + ready.why);
			if (!ready.peer_up)
				return fail(ENETDOWN, op, obj, ready.why + ": frames redirected here would be dropped");
			peer_gro = true;
		} else if (l.kind != "veth" && ready.known && !ready.ready) {
			return fail(EOPNOTSUPP, op, obj, ready.why);
		}

		// apply
		bool chans_changed = false, rings_changed = false;
		if (chans) {
			uint32_t n = want.rings.num;
			bool same = chans->combined_max ? chans->combined == n : chans->rx == n && chans->tx == n;
			if (!same) {
				auto st = chans->combined_max ? genl_.channels_set(l.ifindex, std::nullopt, std::nullopt, n)
							      : genl_.channels_set(l.ifindex, n, n, std::nullopt);
				if (!st)
					return st;
				chans_changed = true;
			}
		}
		auto undo = [&] {
			if (rings_changed)
				(void)genl_.rings_set(l.ifindex, std::nullopt, rings->tx);
			if (chans_changed)
				(void)(chans->combined_max
					       ? genl_.channels_set(l.ifindex, std::nullopt, std::nullopt, chans->combined)
					       : genl_.channels_set(l.ifindex, chans->rx, chans->tx, std::nullopt));
		};
		if (rings && rings->tx != want.rings.size) {
			if (auto st = genl_.rings_set(l.ifindex, std::nullopt, want.rings.size); !st) {
				undo();
				return st;
			}
			rings_changed = true;
		}
		if (peer_gro) {
			if (auto st = genl_.feature_set(ready.peer, "rx-gro", true); !st) {
				undo();
				return fail(st.error().err, op, obj, "enable GRO on the veth peer: " + st.error().message());
			}
		}
		return {};
	}

	Status lookup_md(const nl::Link &l, std::span<std::byte> out, const Snapshot *snap)
	{
		struct bpf_ctrl_xdp_md m {};
		m.ifindex = l.ifindex;
		if (auto d = netdev_dev(l.ifindex, snap); d && d->has_xdp_rx_metadata_features) {
			m.avail |= BPF_CTRL_MD_FEATURES;
			m.rx_metadata_features = d->xdp_rx_metadata_features;
		}
		// metadata is on when the device-bound metadata program is what runs on the device
		if (l.xdp_known) {
			m.avail |= BPF_CTRL_MD_STATE;
			for (uint32_t id : attached_prog_ids(l))
				if (detail::add_md_prog(id, m))
					break;
		}
		store(out, m);
		return {};
	}

	Status setup_md(const nl::Link &l, const struct bpf_ctrl_xdp_md &want)
	{
		struct bpf_ctrl_xdp_md now {};
		if (auto st = lookup_md(l, std::as_writable_bytes(std::span(&now, 1)), nullptr); !st)
			return st;
		return detail::setup_md(l.name, now, want.enable_md == 1);
	}

	nl::Rtnl rt_;
	nl::Genl genl_;
	Fd sock_; // for SIOCGIFNAME, in the map's namespace
	std::optional<Snapshot> walk_; // the walk going on, if any
};

} // namespace

Result<std::unique_ptr<Backend>> open_user_backend(uint32_t ctrl_type)
{
	if (!value_size(ctrl_type))
		return fail(EINVAL, "open user backend", "type " + std::to_string(ctrl_type), "unknown control type");
	if (ctrl_type == BPF_CTRL_XDP_STATS) {
		// XDP_STATS reads xdpctl's pins: refuse a bpffs layout someone else could have planted
		// or rearranged. A caller who cannot read the root-only pins (EACCES) gets the other
		// counters, as before.
		auto l = current_layout();
		if (!l)
			return std::unexpected(l.error());
		if (auto st = check_bpffs(*l); !st && st.error().err != EACCES)
			return std::unexpected(st.error());
	}
	auto rt = nl::Rtnl::open();
	if (!rt)
		return std::unexpected(rt.error());
	auto g = nl::Genl::open();
	if (!g)
		return std::unexpected(g.error());
	Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!sock)
		return fail(errno, "socket", "AF_INET (interface names)");
	return std::make_unique<UserBackend>(ctrl_type, std::move(*rt), std::move(*g), std::move(sock));
}

} // namespace xdpctl::ctl
