#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <functional>
#include <array>
#include <set>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "loader_internal.hpp"
#include "xdpctl/broadcast.h"
#include "xdpctl/compat.h"
#include "xdpctl/devmap.hpp"
#include "xdpctl/egress.h"
#include "xdpctl/netdev.hpp"
#include "xdpctl/privileges.hpp"

namespace xdpctl {

static_assert(kMulticastGroups == XDPCTL_MCAST_GROUPS, "the API's group count is the program's");

Status validate_egress_prog(const bpf_program *p, const std::string &name, std::optional<bool> devmap_frags)
{
	if (bpf_program__type(p) != BPF_PROG_TYPE_XDP)
		return fail(EINVAL, "egress program", name, "is not an XDP program");
	if (bpf_program__expected_attach_type(p) != BPF_XDP_DEVMAP)
		return fail(EINVAL, "egress program", name,
			    "is not a devmap program (SEC(\"xdp/devmap\")); an interface program cannot run in a devmap");
	if (bpf_program__flags(p) & BPF_F_XDP_DEV_BOUND_ONLY)
		return fail(EINVAL, "egress program", name, "is device-bound; device-bound programs cannot go into a devmap");
	// libbpf adds BPF_F_XDP_HAS_FRAGS for SEC("xdp.frags...") only at load time
	bool frags = (bpf_program__flags(p) & BPF_F_XDP_HAS_FRAGS) ||
		     std::string(bpf_program__section_name(p)).starts_with("xdp.frags");
	if (devmap_frags && frags != *devmap_frags)
		return fail(EINVAL, "egress program", name,
			    std::string(frags ? "supports" : "does not support") + " frags but the devmap's program " +
				    (*devmap_frags ? "does" : "does not") + "; use the " +
				    (*devmap_frags ? "xdp.frags/devmap" : "xdp/devmap") + " variant");
	return {};
}

namespace {

constexpr int kENOTSUPP = 524; // the kernel's internal ENOTSUPP, what a missing batch op returns

struct Old {
	uint32_t key;
	std::optional<bpf_devmap_val> val;
};

void restore(int fd, const std::vector<Old> &olds)
{
	for (auto it = olds.rbegin(); it != olds.rend(); ++it) {
		if (!it->val) {
			(void)bpf_map_delete_elem(fd, &it->key);
			continue;
		}
		bpf_devmap_val v{};
		v.ifindex = it->val->ifindex;
		Fd prog;
		if (it->val->bpf_prog.id) {
			prog = Fd(bpf_prog_get_fd_by_id(it->val->bpf_prog.id));
			v.bpf_prog.fd = prog.get();
		}
		(void)bpf_map_update_elem(fd, &it->key, &v, 0);
	}
}

Error write_error(int err, const std::string &name, const bpf_map_info &info, const DevmapEntryWrite &e)
{
	if (err == E2BIG || err == ENOSPC)
		return Error{err, "devmap", name,
			     "is full (max_entries " + std::to_string(info.max_entries) + ", key " + std::to_string(e.key) +
				     "); remove entries first"};
	if (err == EINVAL || err == ENODEV)
		return Error{err, "devmap", name,
			     "the kernel refused key " + std::to_string(e.key) + " -> ifindex " + std::to_string(e.ifindex) +
				     " (device gone, or the egress program does not fit this devmap)"};
	return detail::with_privilege_hint(Error{err, "bpf_map_update_elem", name, {}});
}

} // namespace

Status devmap_write(int map_fd, const std::string &name, const std::vector<DevmapEntryWrite> &entries,
		    size_t batch_threshold, Txn *txn)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", name);
	if (info.type != BPF_MAP_TYPE_DEVMAP && info.type != BPF_MAP_TYPE_DEVMAP_HASH)
		return fail(EINVAL, "devmap", name, "is not a DEVMAP or DEVMAP_HASH");
	if (info.value_size < sizeof(bpf_devmap_val) &&
	    std::any_of(entries.begin(), entries.end(), [](const auto &e) { return e.prog_fd >= 0; }))
		return fail(EINVAL, "devmap", name, "has 4-byte values: it cannot hold egress programs");

	std::vector<uint32_t> keys;
	std::vector<bpf_devmap_val> vals;
	for (const auto &e : entries) {
		bpf_devmap_val v{};
		v.ifindex = e.ifindex;
		v.bpf_prog.fd = info.value_size < sizeof(bpf_devmap_val) ? 0 : e.prog_fd; // only the ifindex is read
		keys.push_back(e.key);
		vals.push_back(v);
	}
	auto read_old = [&](uint32_t key) {
		bpf_devmap_val cur{};
		return Old{key, bpf_map_lookup_elem(map_fd, &key, &cur) == 0 ? std::optional(cur) : std::nullopt};
	};

	// A zero-count batch tells whether the map has a batch op without changing anything; no
	// devmap has one on the kernels we know (ENOTSUPP), so this is the exception.
	std::vector<Old> olds; // what each written key held before, in write order
	bool done = false;
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	if (entries.size() >= batch_threshold && !entries.empty() &&
	    !bpf_map_update_batch(map_fd, keys.data(), vals.data(), &zero, &bo)) {
		for (uint32_t k : keys)
			olds.push_back(read_old(k));
		// Values are read at value_size strides: pack them when the map has 4-byte values.
		std::vector<uint8_t> packed(vals.size() * info.value_size);
		for (size_t i = 0; i < vals.size(); i++)
			std::memcpy(packed.data() + i * info.value_size, &vals[i], info.value_size);
		uint32_t count = static_cast<uint32_t>(entries.size());
		int err = bpf_map_update_batch(map_fd, keys.data(), packed.data(), &count, &bo);
		if (!err) {
			done = true;
		} else if (errno == ENOTSUP || errno == EOPNOTSUPP || errno == kENOTSUPP || (errno == EINVAL && count == 0)) {
			olds.clear(); // element by element below
		} else {
			int e = errno;
			restore(map_fd, std::vector<Old>(olds.begin(), olds.begin() + std::min<size_t>(count, olds.size())));
			return std::unexpected(write_error(e, name, info, entries[std::min<size_t>(count, entries.size() - 1)]));
		}
	}
	if (!done) {
		// DEVMAP_HASH: insert with BPF_NOEXIST, and only where the key exists (EEXIST) read the
		// old value before overwriting it, so a fill of new keys costs one syscall per entry.
		// DEVMAP: every index exists, empty or not: read each old value first.
		const bool hash = info.type == BPF_MAP_TYPE_DEVMAP_HASH;
		for (size_t i = 0; i < entries.size(); i++) {
			step_boundary();
			if (hash && bpf_map_update_elem(map_fd, &keys[i], &vals[i], BPF_NOEXIST) == 0) {
				olds.push_back({keys[i], std::nullopt});
				continue;
			}
			int e = errno;
			if (!hash || e == EEXIST) {
				olds.push_back(read_old(keys[i]));
				if (bpf_map_update_elem(map_fd, &keys[i], &vals[i], BPF_ANY) == 0)
					continue;
				e = errno;
				olds.pop_back(); // not written: nothing of this key to restore
			}
			restore(map_fd, olds);
			return std::unexpected(write_error(e, name, info, entries[i]));
		}
	}
	if (txn) {
		auto fd = std::make_shared<Fd>(fcntl(map_fd, F_DUPFD_CLOEXEC, 0));
		txn->on_undo([fd, olds] { restore(fd->get(), olds); });
	}
	return {};
}

Status devmap_delete(int map_fd, const std::string &name, const std::vector<uint32_t> &keys, Txn *txn)
{
	std::vector<Old> olds;
	for (uint32_t k : keys) {
		bpf_devmap_val cur{};
		if (bpf_map_lookup_elem(map_fd, &k, &cur))
			continue;
		step_boundary();
		if (bpf_map_delete_elem(map_fd, &k)) {
			int e = errno;
			restore(map_fd, olds);
			return std::unexpected(detail::with_privilege_hint(Error{e, "bpf_map_delete_elem", name, {}}));
		}
		olds.push_back({k, cur});
	}
	if (txn) {
		auto fd = std::make_shared<Fd>(fcntl(map_fd, F_DUPFD_CLOEXEC, 0));
		txn->on_undo([fd, olds] { restore(fd->get(), olds); });
	}
	return {};
}

namespace {

// The map-of-maps slot through which a program finds a group devmap (include/xdpctl/broadcast.h).
struct GroupSlot {
	std::string outer;
	uint32_t slot;
};

std::optional<GroupSlot> group_slot_of(const std::string &devmap)
{
	if (devmap == kBroadcastMaps[0])
		return GroupSlot{kBroadcastGroupMaps[0], 0};
	if (devmap == kBroadcastMaps[1])
		return GroupSlot{kBroadcastGroupMaps[1], 0};
	for (uint32_t g = 0; g < kMulticastGroups; g++)
		if (devmap == "mcast_group" + std::to_string(g))
			return GroupSlot{kMulticastGroupsMap, g};
	return std::nullopt;
}

uint32_t map_id(int fd)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// Points the pin NAME at fd: pinned as NAME-new, renamed over NAME (readers never see no pin);
// undone by pinning the previous map back the same way.
Status repin(const Layout &l, const std::string &name, int fd, Txn &txn)
{
	std::string pin = l.map_pin(name), staged = pin + "-new";
	auto old = std::make_shared<Fd>(bpf_obj_get(pin.c_str()));
	(void)::unlink(staged.c_str());
	step_boundary();
	if (bpf_obj_pin(fd, staged.c_str()))
		return fail(errno, "pin", staged);
	if (::rename(staged.c_str(), pin.c_str())) {
		int e = errno;
		::unlink(staged.c_str());
		return fail(e, "rename", staged);
	}
	txn.on_undo([old, pin, staged] {
		if (*old && bpf_obj_pin(old->get(), staged.c_str()) == 0)
			(void)::rename(staged.c_str(), pin.c_str());
	});
	return {};
}

// A pinned devmap; for a group devmap the map in its map-of-maps slot (what the programs walk),
// with the outer map, and whether the pin names another map (a command killed between the swap
// and the re-pin: the next change re-pins).
struct PinnedMap {
	std::string name;
	Fd fd;
	Fd outer;
	uint32_t slot = 0;
	bool stale_pin = false;

	[[nodiscard]] bool group() const { return static_cast<bool>(outer); }
	[[nodiscard]] DevmapGroup as_group() const { return {outer.get(), slot, name}; }
	[[nodiscard]] std::optional<uint32_t> key_of(uint32_t ifindex) const
	{
		if (group())
			return group_key(fd.get(), ifindex);
		bpf_devmap_val cur{};
		return bpf_map_lookup_elem(fd.get(), &ifindex, &cur) == 0 ? std::optional(ifindex) : std::nullopt;
	}
};

Result<std::vector<PinnedMap>> open_pinned(const Layout &l, std::span<const char *const> names, const char *load_hint)
{
	std::vector<PinnedMap> out;
	for (const char *n : names) {
		if (!path_exists(l.map_pin(n)))
			continue;
		Fd fd(bpf_obj_get(l.map_pin(n).c_str()));
		if (!fd)
			return std::unexpected(detail::with_privilege_hint(Error{errno, "open pinned map", l.map_pin(n), {}}));
		PinnedMap m{n, std::move(fd), Fd(), 0, false};
		if (auto gs = group_slot_of(n); gs && path_exists(l.map_pin(gs->outer))) {
			m.outer = Fd(bpf_obj_get(l.map_pin(gs->outer).c_str()));
			if (!m.outer)
				return std::unexpected(
					detail::with_privilege_hint(Error{errno, "open pinned map", l.map_pin(gs->outer), {}}));
			m.slot = gs->slot;
			auto cur = group_devmap(m.as_group());
			if (!cur)
				return std::unexpected(cur.error());
			m.stale_pin = map_id(cur->get()) != map_id(m.fd.get());
			m.fd = std::move(*cur);
		}
		out.push_back(std::move(m));
	}
	if (out.empty())
		return fail(ENOENT, "devmap", names[0], std::string("no program using it is loaded in this namespace; ") + load_hint);
	return out;
}

// After a group change: the pin follows the devmap in the slot (swapped now, or by a command
// killed between its swap and its re-pin), and the change's writes are reported.
Status settle(const Layout &l, const PinnedMap &m, Result<GroupChange> ch, Txn &txn, std::vector<DevmapWrite> &out)
{
	if (!ch)
		return std::unexpected(ch.error());
	if (ch->swapped || m.stale_pin)
		if (auto st = repin(l, m.name, ch->devmap.get(), txn); !st)
			return st;
	out.insert(out.end(), ch->writes.begin(), ch->writes.end());
	return {};
}

struct Port {
	std::string name;
	int ifindex;
};

Result<Port> port(const std::string &ifname)
{
	auto idx = ifindex_of(ifname);
	if (!idx)
		return std::unexpected(idx.error());
	return Port{ifname, *idx};
}

struct Planned {
	uint32_t key;
	Port out;
	std::optional<ProgramSource> egress;
};

// Egress ports that are not working redirect targets: refused now (before any write) or, with
// ReadyPolicy::Gro, the veth peers (in whichever named namespace) whose GRO write_all turns on.
Result<std::vector<Readiness>> check_targets(const std::vector<Planned> &plan, const DevmapOptions &o)
{
	std::vector<Readiness> peers;
	for (const auto &p : plan) {
		auto r = redirect_target_readiness(p.out.ifindex);
		if (!r)
			return std::unexpected(r.error());
		if (r->ready)
			continue;
		if (o.ready != ReadyPolicy::Gro || !r->peer_ifindex)
			return fail(EHOSTUNREACH, "redirect target", p.out.name,
				    r->reason + (o.ready == ReadyPolicy::Refuse ? "; allow GRO on it (--ready gro) or load xdp_pass on the peer" : ""));
		if (std::none_of(peers.begin(), peers.end(), [&](const auto &q) {
			    return q.peer_name == r->peer_name && q.peer_netns == r->peer_netns;
		    }))
			peers.push_back(std::move(*r));
	}
	return peers;
}

Result<std::array<uint8_t, 6>> hw_addr(const std::string &ifname)
{
	Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!s)
		return fail(errno, "socket");
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	if (ioctl(s.get(), SIOCGIFHWADDR, &ifr))
		return fail(errno, "SIOCGIFHWADDR", ifname);
	std::array<uint8_t, 6> mac{};
	std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
	return mac;
}

using EgressKey = std::pair<std::string, int>; // program source, egress ifindex

EgressKey egress_key(const Planned &p)
{
	return {p.egress->name_or_path + ":" + p.egress->prog, p.out.ifindex};
}

// One instance of the egress program per egress port (validated before load), its port_cfg
// (include/xdpctl/egress.h) set for that port: with src_mac, the port's own MAC as every frame's
// source. Shared maps of object files are pinned in txn. Returns the program fd per program and
// port; the instances stay in keep until the devmap entries hold them.
Result<std::map<EgressKey, int>> load_egress(const Layout &l, const std::vector<Planned> &plan, bool src_mac,
					     Txn &txn, std::vector<ResolvedProgram> &keep)
{
	std::map<EgressKey, int> fds;
	for (const auto &p : plan) {
		if (!p.egress || fds.contains(egress_key(p)))
			continue;
		auto rp = resolve_program(*p.egress, ProgKind::DevmapEgress);
		if (!rp)
			return std::unexpected(rp.error());
		if (auto st = validate_egress_prog(rp->prog, rp->name, std::nullopt); !st)
			return std::unexpected(st.error());
		xdpctl_egress_port cfg{};
		if (src_mac) {
			if (!rp->obj.has_rodata(XDPCTL_EGRESS_CFG_VAR))
				return fail(EINVAL, "egress action", rp->name,
					    "the egress program has no port_cfg (struct xdpctl_egress_port) to hold the "
					    "source MAC; use --egress xdp_egress");
			auto mac = hw_addr(p.out.name);
			if (!mac)
				return std::unexpected(mac.error());
			std::memcpy(cfg.src_mac, mac->data(), mac->size());
			cfg.set_src_mac = 1;
		}
		if (rp->obj.has_rodata(XDPCTL_EGRESS_CFG_VAR))
			if (auto st = rp->obj.set_rodata(XDPCTL_EGRESS_CFG_VAR, &cfg, sizeof(cfg)); !st)
				return std::unexpected(st.error());
		if (auto st = detail::load_instance(*rp, l, txn, 0); !st)
			return std::unexpected(st.error());
		fds[egress_key(p)] = bpf_program__fd(rp->prog);
		keep.push_back(std::move(*rp));
	}
	return fds;
}

Result<std::vector<DevmapWrite>> write_all(const Layout &l, std::span<const char *const> maps, const char *hint,
					   const std::vector<Planned> &plan, bool replace, const DevmapOptions &o,
					   const std::string &what)
{
	auto gro_peers = check_targets(plan, o);
	if (!gro_peers)
		return std::unexpected(gro_peers.error());
	auto pinned = open_pinned(l, maps, hint);
	if (!pinned)
		return std::unexpected(pinned.error());
	if (!replace) {
		for (const auto &m : *pinned)
			for (const auto &p : plan) {
				if (m.key_of(p.key)) {
					auto n = ifname_of(static_cast<int>(p.key));
					return fail(EEXIST, what, n ? *n : std::to_string(p.key),
						    "already has an entry in " + m.name + "; remove it first or use --replace");
				}
			}
	}
	Txn txn;
	std::vector<ResolvedProgram> keep;
	auto egress = load_egress(l, plan, o.egress_src_mac, txn, keep);
	if (!egress)
		return std::unexpected(egress.error());
	for (const auto &peer : *gro_peers) {
		if (auto st = set_peer_gro(peer, true); !st)
			return std::unexpected(st.error());
		txn.on_undo([peer] { (void)set_peer_gro(peer, false); });
	}
	std::vector<DevmapWrite> out;
	for (const auto &m : *pinned) {
		if (m.group()) {
			std::vector<GroupPort> ports;
			for (const auto &p : plan)
				ports.push_back({static_cast<uint32_t>(p.out.ifindex), p.egress ? egress->at(egress_key(p)) : -1});
			if (auto st = settle(l, m, group_add(m.as_group(), ports, o.batch_threshold, &txn), txn, out); !st)
				return std::unexpected(st.error());
			continue;
		}
		std::vector<DevmapEntryWrite> es;
		for (const auto &p : plan) {
			int fd = p.egress ? egress->at(egress_key(p)) : -1;
			es.push_back({p.key, static_cast<uint32_t>(p.out.ifindex), fd});
			bpf_prog_info pi{};
			uint32_t pl = sizeof(pi);
			uint32_t pid = fd >= 0 && bpf_obj_get_info_by_fd(fd, &pi, &pl) == 0 ? pi.id : 0;
			// with --replace: whether this write takes another entry's place (said; see DevmapWrite)
			bool was = replace && m.key_of(p.key).has_value();
			out.push_back({m.name, p.key, static_cast<uint32_t>(p.out.ifindex), pid, was});
		}
		if (auto st = devmap_write(m.fd.get(), m.name, es, o.batch_threshold, &txn); !st)
			return std::unexpected(st.error());
	}
	txn.commit();
	return out;
}

constexpr const char *kRedirectHint = "load one first: xdpctl load xdp_redirect IFNAME";
constexpr const char *kBroadcastHint = "load one first: xdpctl load xdp_broadcast IFNAME";
constexpr const char *kMulticastHint = "load one first: xdpctl load xdp_multicast IFNAME";

Status check_group(uint32_t group)
{
	if (group >= kMulticastGroups)
		return fail(EINVAL, "multicast group", std::to_string(group),
			    "out of range; groups are 0.." + std::to_string(kMulticastGroups - 1));
	return {};
}

// mcast_macs, checked to be the program's MAC -> group hash before anything is read or written.
Result<Fd> open_macs(const Layout &l)
{
	std::string pin = l.map_pin(kMulticastMacsMap);
	if (!path_exists(pin))
		return fail(ENOENT, "map", kMulticastMacsMap,
			    std::string("no program using it is loaded in this namespace; ") + kMulticastHint);
	Fd fd(bpf_obj_get(pin.c_str()));
	if (!fd)
		return std::unexpected(detail::with_privilege_hint(Error{errno, "open pinned map", pin, {}}));
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", pin);
	if (info.type != BPF_MAP_TYPE_HASH || info.key_size != sizeof(xdpctl_mac) || info.value_size != sizeof(uint32_t))
		return fail(EINVAL, "map", pin, "is not xdp_multicast's MAC -> group hash");
	return fd;
}

xdpctl_mac mac_key(const MacAddr &m)
{
	xdpctl_mac k{};
	std::memcpy(k.addr, m.data(), sizeof(k.addr));
	return k;
}

// ---- Desired state of the devmaps (state.hpp) ----

// The entries of a devmap: key -> egress ifindex (a group's slot keys included).
std::map<uint32_t, uint32_t> entries_of(int fd)
{
	std::map<uint32_t, uint32_t> out;
	for (const auto &e : detail::read_entries(fd))
		out[e.key] = e.val.ifindex;
	return out;
}

std::string name_of(int ifindex)
{
	auto n = ifname_of(ifindex);
	return n ? *n : "";
}

Egress egress_record(const std::optional<ProgramSource> &e, bool src_mac)
{
	if (!e)
		return {};
	return {e->name_or_path, e->prog, src_mac};
}

std::optional<ProgramSource> egress_source(const Egress &e)
{
	if (e.source.empty())
		return std::nullopt;
	return ProgramSource{e.source, e.prog};
}

// The devmaps of a group of the record: "bcast" is both flavours of the broadcast group.
std::vector<std::string> group_maps(const std::string &group)
{
	if (group == "bcast")
		return {kBroadcastMaps[0], kBroadcastMaps[1]};
	return {"mcast_group" + group.substr(5)};
}

constexpr const char *kGroups[] = {"bcast", "mcast0", "mcast1", "mcast2", "mcast3"};

std::vector<const char *> c_names(const std::vector<std::string> &v)
{
	std::vector<const char *> out;
	for (const auto &s : v)
		out.push_back(s.c_str());
	return out;
}

} // namespace

namespace detail {
std::string group_title(const std::string &group)
{
	return group == "bcast" ? "the broadcast group" : "multicast group " + group.substr(5);
}
} // namespace detail

namespace {
using detail::group_title;

Status reconcile_rules(const Layout &l, DesiredState &s, bool recorded, std::vector<Detached> *notes)
{
	auto pinned = open_pinned(l, kRedirectMaps, "");
	if (!pinned) {
		s.rules.clear();
		return {};
	}
	std::vector<std::map<uint32_t, uint32_t>> seen;
	for (const auto &m : *pinned)
		seen.push_back(entries_of(m.fd.get()));
	if (!recorded)
		for (const auto &e : seen)
			for (auto [k, v] : e)
				if (!s.find_rule(static_cast<int>(k)))
					s.rules.push_back({static_cast<int>(k), name_of(static_cast<int>(k)), static_cast<int>(v),
							   name_of(static_cast<int>(v)), true, {}});
	// written, then missing from a map: the kernel removed it with its egress device
	std::erase_if(s.rules, [&](const RuleState &r) {
		return r.realized && std::any_of(seen.begin(), seen.end(), [&](const auto &e) {
			       return !e.contains(static_cast<uint32_t>(r.in_ifindex));
		       });
	});
	std::set<uint32_t> dropped; // a rule's entries in both maps: one note
	for (size_t i = 0; i < pinned->size(); i++) {
		std::vector<uint32_t> drop;
		for (auto [k, v] : seen[i])
			if (!s.find_rule(static_cast<int>(k)))
				drop.push_back(k);
		if (!drop.empty()) {
			step_boundary();
			if (auto st = devmap_delete((*pinned)[i].fd.get(), (*pinned)[i].name, drop); !st)
				return st;
			for (uint32_t k : drop)
				if (notes && dropped.insert(k).second)
					notes->push_back({name_of(static_cast<int>(k)), static_cast<int>(k), "", DetachState::Entry,
							  "removed the redirect rule of " + name_of(static_cast<int>(k)) +
								  " (an interrupted redirect del or unload)"});
		}
	}
	for (size_t i = 0; i < s.rules.size();) {
		auto &r = s.rules[i];
		if (r.realized) {
			i++;
			continue;
		}
		std::vector<Planned> plan{{static_cast<uint32_t>(r.in_ifindex), {r.out_name, r.out_ifindex}, egress_source(r.egress)}};
		DevmapOptions o;
		o.egress_src_mac = r.egress.src_mac;
		step_boundary();
		if (auto w = write_all(l, kRedirectMaps, "", plan, true, o, "redirect"); !w) {
			s.rules.erase(s.rules.begin() + static_cast<long>(i));
			continue;
		}
		r.realized = true;
		if (notes)
			notes->push_back({r.in_name, r.in_ifindex, "", DetachState::Entry,
					  "wrote the redirect rule " + r.in_name + " -> " + r.out_name + " (an interrupted redirect add)"});
		i++;
	}
	return {};
}

Status reconcile_group(const Layout &l, DesiredState &s, bool recorded, const std::string &group,
		       std::vector<Detached> *notes)
{
	auto names = group_maps(group);
	auto cn = c_names(names);
	auto pinned = open_pinned(l, cn, "");
	if (!pinned) {
		std::erase_if(s.ports, [&](const auto &p) { return p.group == group; });
		return {};
	}
	for (const auto &m : *pinned)
		if (m.stale_pin) { // a change killed between its swap and its re-pin
			Txn txn;
			if (auto st = repin(l, m.name, m.fd.get(), txn); !st)
				return st;
			txn.commit();
		}
	std::vector<std::vector<uint32_t>> seen; // member ifindexes per map
	for (const auto &m : *pinned) {
		std::vector<uint32_t> members;
		for (auto [k, v] : entries_of(m.fd.get()))
			members.push_back(v);
		seen.push_back(std::move(members));
	}
	auto has = [](const std::vector<uint32_t> &v, int idx) {
		return std::find(v.begin(), v.end(), static_cast<uint32_t>(idx)) != v.end();
	};
	if (!recorded)
		for (const auto &e : seen)
			for (uint32_t v : e)
				if (!s.find_port(group, static_cast<int>(v)))
					s.ports.push_back({group, static_cast<int>(v), name_of(static_cast<int>(v)), true, {}});
	std::erase_if(s.ports, [&](const PortState &p) {
		return p.group == group && p.realized &&
		       std::any_of(seen.begin(), seen.end(), [&](const auto &e) { return !has(e, p.ifindex); });
	});
	std::set<uint32_t> dropped; // a port's entries in both flavours: one note
	for (size_t i = 0; i < pinned->size(); i++) {
		std::vector<uint32_t> drop;
		for (uint32_t v : seen[i])
			if (!s.find_port(group, static_cast<int>(v)))
				drop.push_back(v);
		if (drop.empty())
			continue;
		Txn txn;
		std::vector<DevmapWrite> ignored;
		step_boundary();
		if (auto st = settle(l, (*pinned)[i], group_del((*pinned)[i].as_group(), drop, &txn), txn, ignored); !st)
			return st;
		txn.commit();
		for (uint32_t v : drop)
			if (notes && dropped.insert(v).second)
				notes->push_back({name_of(static_cast<int>(v)), static_cast<int>(v), "", DetachState::Entry,
						  "removed " + name_of(static_cast<int>(v)) + " from " + group_title(group) +
							  " (an interrupted del or unload)"});
	}
	for (size_t i = 0; i < s.ports.size();) {
		auto &p = s.ports[i];
		if (p.group != group || p.realized) {
			i++;
			continue;
		}
		std::vector<Planned> plan{{static_cast<uint32_t>(p.ifindex), {p.name, p.ifindex}, egress_source(p.egress)}};
		DevmapOptions o;
		o.egress_src_mac = p.egress.src_mac;
		step_boundary();
		if (auto w = write_all(l, cn, "", plan, true, o, group); !w) {
			s.ports.erase(s.ports.begin() + static_cast<long>(i));
			continue;
		}
		p.realized = true;
		if (notes)
			notes->push_back({p.name, p.ifindex, "", DetachState::Entry,
					  "added " + p.name + " to " + group_title(group) + " (an interrupted add)"});
		i++;
	}
	return {};
}

Result<detail::Session> devmap_session()
{
	if (auto st = require_privileges("redirect/broadcast/multicast", kDevmapCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	if (!path_exists(l->maps_dir()))
		return fail(ENOENT, "devmap", l->maps_dir(), "nothing loaded in this namespace; load a redirect or broadcast program first");
	auto s = detail::open_converged(*l);
	if (s)
		detail::report_convergence(s->notes);
	return s;
}

// The common end of an add: the intent recorded (mark(st, false)), the entries written, then
// recorded as written (mark(st, true)); a failed write restores the record.
Result<std::vector<DevmapWrite>> write_recorded(detail::Session &s, std::span<const char *const> maps, const char *hint,
						const std::vector<Planned> &todo, const DevmapOptions &o, const std::string &what,
						const std::function<void(DesiredState &, bool)> &mark, std::vector<DevmapWrite> out)
{
	if (!todo.empty()) {
		DesiredState before = s.st;
		mark(s.st, false);
		if (auto st = write_state(s.l, s.st); !st)
			return std::unexpected(st.error());
		auto w = write_all(s.l, maps, hint, todo, true, o, what);
		if (!w) {
			(void)write_state(s.l, before);
			return std::unexpected(w.error());
		}
		mark(s.st, true);
		out.insert(out.end(), w->begin(), w->end());
	}
	if (auto st = detail::settle_state(s); !st)
		return std::unexpected(st.error());
	return out;
}

// The common end of a del: the record without them, then the devmaps made to match it.
Result<std::vector<DevmapWrite>> delete_recorded(detail::Session &s, std::vector<DevmapWrite> out)
{
	if (auto st = write_state(s.l, s.st); !st)
		return std::unexpected(st.error());
	if (auto st = detail::reconcile_devmaps(s.l, s.st, true); !st)
		return std::unexpected(st.error());
	if (auto st = detail::settle_state(s); !st)
		return std::unexpected(st.error());
	return out;
}

Result<std::vector<DevmapWrite>> add_ports(detail::Session &s, const std::string &group, const std::vector<Planned> &plan,
					   const DevmapOptions &o, const char *hint, const std::string &what)
{
	auto names = group_maps(group);
	auto cn = c_names(names);
	auto pinned = open_pinned(s.l, cn, hint);
	if (!pinned)
		return std::unexpected(pinned.error());
	std::vector<Planned> todo;
	std::vector<DevmapWrite> out;
	for (const auto &p : plan) {
		Egress eg = egress_record(p.egress, o.egress_src_mac);
		if (const auto *r = s.st.find_port(group, p.out.ifindex)) {
			if (r->realized && r->egress == eg) {
				for (const auto &m : *pinned) {
					auto k = m.key_of(static_cast<uint32_t>(p.out.ifindex));
					out.push_back({m.name, k.value_or(0), static_cast<uint32_t>(p.out.ifindex), 0, false, m.name == kBroadcastMaps[0], true});
				}
				continue;
			}
			if (!o.replace)
				return fail(EEXIST, what, p.out.name,
					    "already has an entry in " + (*pinned)[0].name + "; remove it first or use --replace");
		}
		todo.push_back(p);
	}
	auto mark = [&](DesiredState &st, bool realized) {
		for (const auto &p : todo) {
			PortState w{group, p.out.ifindex, p.out.name, realized, egress_record(p.egress, o.egress_src_mac)};
			if (auto *r = st.find_port(group, p.out.ifindex))
				*r = w;
			else
				st.ports.push_back(w);
		}
	};
	return write_recorded(s, cn, hint, todo, o, what, mark, std::move(out));
}

Result<std::vector<DevmapWrite>> del_ports(detail::Session &s, const std::string &group, const std::vector<std::string> &ports,
					   const char *hint)
{
	auto names = group_maps(group);
	auto cn = c_names(names);
	auto pinned = open_pinned(s.l, cn, hint);
	if (!pinned)
		return std::unexpected(pinned.error());
	std::vector<DevmapWrite> out;
	for (const auto &n : ports) {
		auto p = port(n);
		if (!p)
			return std::unexpected(p.error());
		uint32_t idx = static_cast<uint32_t>(p->ifindex);
		bool had = s.st.find_port(group, p->ifindex) != nullptr;
		for (const auto &m : *pinned) {
			bool slot = m.name == kBroadcastMaps[0];
			auto k = m.key_of(idx);
			out.push_back({m.name, k.value_or(idx), idx, 0, false, slot && k, !had});
		}
		std::erase_if(s.st.ports, [&](const auto &q) { return q.group == group && q.ifindex == p->ifindex; });
	}
	return delete_recorded(s, std::move(out));
}

} // namespace

Result<std::vector<DevmapWrite>> redirect_add(const std::vector<RedirectRule> &rules, const DevmapOptions &o)
{
	std::vector<Planned> plan;
	std::vector<std::string> in_names;
	for (const auto &r : rules) {
		auto in = port(r.in);
		if (!in)
			return std::unexpected(in.error());
		auto out = port(r.out);
		if (!out)
			return std::unexpected(out.error());
		if (std::any_of(plan.begin(), plan.end(), [&](const auto &p) { return p.key == static_cast<uint32_t>(in->ifindex); }))
			return fail(EINVAL, "redirect", r.in, "given twice: one rule per ingress port");
		plan.push_back({static_cast<uint32_t>(in->ifindex), *out, r.egress});
		in_names.push_back(r.in);
	}
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	auto pinned = open_pinned(s->l, kRedirectMaps, kRedirectHint);
	if (!pinned)
		return std::unexpected(pinned.error());
	std::vector<Planned> todo;
	std::vector<DevmapWrite> out;
	for (size_t i = 0; i < plan.size(); i++) {
		const auto &p = plan[i];
		Egress eg = egress_record(p.egress, o.egress_src_mac);
		if (const auto *r = s->st.find_rule(static_cast<int>(p.key))) {
			if (r->realized && r->out_ifindex == p.out.ifindex && r->egress == eg) {
				for (const auto &m : *pinned)
					out.push_back({m.name, p.key, static_cast<uint32_t>(p.out.ifindex), 0, false, false, true});
				continue;
			}
			if (!o.replace)
				return fail(EEXIST, "redirect", in_names[i],
					    "already has an entry in " + (*pinned)[0].name + " (-> " + r->out_name +
						    "); remove it first or use --replace");
		}
		todo.push_back(p);
	}
	auto mark = [&](DesiredState &st, bool realized) {
		for (size_t i = 0; i < todo.size(); i++) {
			const auto &p = todo[i];
			RuleState w{static_cast<int>(p.key), name_of(static_cast<int>(p.key)), p.out.ifindex, p.out.name, realized,
				    egress_record(p.egress, o.egress_src_mac)};
			if (auto *r = st.find_rule(w.in_ifindex))
				*r = w;
			else
				st.rules.push_back(w);
		}
	};
	return write_recorded(*s, kRedirectMaps, kRedirectHint, todo, o, "redirect", mark, std::move(out));
}

Result<std::vector<DevmapWrite>> redirect_del(const std::vector<std::string> &in)
{
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	auto pinned = open_pinned(s->l, kRedirectMaps, kRedirectHint);
	if (!pinned)
		return std::unexpected(pinned.error());
	std::vector<DevmapWrite> out;
	for (const auto &n : in) {
		auto p = port(n);
		if (!p)
			return std::unexpected(p.error());
		uint32_t k = static_cast<uint32_t>(p->ifindex);
		const auto *r = s->st.find_rule(p->ifindex);
		for (const auto &m : *pinned)
			out.push_back({m.name, k, r ? static_cast<uint32_t>(r->out_ifindex) : 0, 0, false, false, r == nullptr});
		std::erase_if(s->st.rules, [&](const auto &q) { return q.in_ifindex == p->ifindex; });
	}
	return delete_recorded(*s, std::move(out));
}

namespace {
// A group's entries: each port keyed by its own ifindex, all with the same egress program.
Result<std::vector<Planned>> plan_ports(const std::vector<std::string> &ports, const std::optional<ProgramSource> &egress)
{
	std::vector<Planned> plan;
	for (const auto &n : ports) {
		auto p = port(n);
		if (!p)
			return std::unexpected(p.error());
		// twice in one group would take two slots of bcast_ports but one key of its hash twin
		if (std::any_of(plan.begin(), plan.end(), [&](const auto &q) { return q.out.ifindex == p->ifindex; }))
			return fail(EINVAL, "group", n, "given twice: one entry per port");
		plan.push_back({static_cast<uint32_t>(p->ifindex), *p, egress});
	}
	return plan;
}
} // namespace

Result<std::vector<DevmapWrite>> broadcast_add(const std::vector<std::string> &ports,
					       const std::optional<ProgramSource> &egress, const DevmapOptions &o)
{
	auto plan = plan_ports(ports, egress);
	if (!plan)
		return std::unexpected(plan.error());
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	return add_ports(*s, "bcast", *plan, o, kBroadcastHint, "broadcast");
}

Result<std::vector<DevmapWrite>> broadcast_del(const std::vector<std::string> &ports)
{
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	return del_ports(*s, "bcast", ports, kBroadcastHint);
}

namespace detail {
Status reconcile_devmaps(const Layout &l, DesiredState &s, bool recorded, std::vector<Detached> *notes)
{
	if (!path_exists(l.maps_dir())) {
		s.rules.clear();
		s.ports.clear();
		return {};
	}
	for (const auto &n : list_dir(l.maps_dir())) // a re-pin killed before its rename
		if (n.ends_with("-new"))
			::unlink((l.maps_dir() + "/" + n).c_str());
	if (auto st = reconcile_rules(l, s, recorded, notes); !st)
		return st;
	for (const char *g : kGroups)
		if (auto st = reconcile_group(l, s, recorded, g, notes); !st)
			return st;
	return {};
}
} // namespace detail

std::optional<MacAddr> parse_mac(std::string_view s)
{
	if (s.size() != 17)
		return std::nullopt;
	auto hex = [](char c) -> int {
		if (c >= '0' && c <= '9')
			return c - '0';
		if (c >= 'a' && c <= 'f')
			return c - 'a' + 10;
		if (c >= 'A' && c <= 'F')
			return c - 'A' + 10;
		return -1;
	};
	MacAddr m{};
	for (size_t i = 0; i < m.size(); i++) {
		int hi = hex(s[i * 3]), lo = hex(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i + 1 < m.size() && s[i * 3 + 2] != ':'))
			return std::nullopt;
		m[i] = static_cast<uint8_t>(hi << 4 | lo);
	}
	return m;
}

std::string mac_string(const MacAddr &m)
{
	char b[18];
	std::snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

Result<std::vector<DevmapWrite>> multicast_add(uint32_t group, const std::vector<std::string> &ports,
					       const std::optional<ProgramSource> &egress, const DevmapOptions &o)
{
	if (auto st = check_group(group); !st)
		return std::unexpected(st.error());
	auto plan = plan_ports(ports, egress);
	if (!plan)
		return std::unexpected(plan.error());
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	// xdp_broadcast pins the group devmaps too (they are devmaps of its object); only
	// xdp_multicast, which pins the MAC table, reads them
	if (!path_exists(s->l.map_pin(kMulticastMacsMap)))
		return fail(ENOENT, "multicast group", std::to_string(group),
			    std::string("no xdp_multicast is loaded in this namespace to use it; ") + kMulticastHint);
	return add_ports(*s, "mcast" + std::to_string(group), *plan, o, kMulticastHint, "multicast group " + std::to_string(group));
}

Result<std::vector<DevmapWrite>> multicast_del(uint32_t group, const std::vector<std::string> &ports)
{
	if (auto st = check_group(group); !st)
		return std::unexpected(st.error());
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	return del_ports(*s, "mcast" + std::to_string(group), ports, kMulticastHint);
}

Result<MulticastMac> multicast_mac_add(const MacAddr &mac, uint32_t group, bool replace)
{
	if (auto st = check_group(group); !st)
		return std::unexpected(st.error());
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	auto fd = open_macs(s->l);
	if (!fd)
		return std::unexpected(fd.error());
	auto key = mac_key(mac);
	MulticastMac out{mac, group, {}};
	uint32_t cur = 0;
	if (bpf_map_lookup_elem(fd->get(), &key, &cur) == 0) {
		if (cur == group)
			out.already = true;
		else if (!replace)
			return fail(EEXIST, "multicast mac", mac_string(mac),
				    "is already in group " + std::to_string(cur) + "; remove it first or use --replace");
		else
			out.old_group = cur;
	}
	if (!out.already && bpf_map_update_elem(fd->get(), &key, &group, BPF_ANY)) {
		if (errno == E2BIG || errno == ENOSPC)
			return fail(errno, "map", kMulticastMacsMap, "is full; remove MACs first");
		return std::unexpected(detail::with_privilege_hint(Error{errno, "bpf_map_update_elem", kMulticastMacsMap, {}}));
	}
	if (auto st = detail::settle_state(*s); !st)
		return std::unexpected(st.error());
	return out;
}

Result<MulticastMac> multicast_mac_del(const MacAddr &mac)
{
	auto s = devmap_session();
	if (!s)
		return std::unexpected(s.error());
	auto fd = open_macs(s->l);
	if (!fd)
		return std::unexpected(fd.error());
	auto key = mac_key(mac);
	uint32_t cur = 0;
	MulticastMac out{mac, 0, {}, true};
	if (bpf_map_lookup_elem(fd->get(), &key, &cur) == 0) {
		if (bpf_map_delete_elem(fd->get(), &key))
			return std::unexpected(detail::with_privilege_hint(Error{errno, "bpf_map_delete_elem", kMulticastMacsMap, {}}));
		out = {mac, cur, {}, false};
	}
	if (auto st = detail::settle_state(*s); !st)
		return std::unexpected(st.error());
	return out;
}

Result<std::vector<MulticastMac>> multicast_macs(const Layout &l)
{
	std::vector<MulticastMac> out;
	if (!path_exists(l.map_pin(kMulticastMacsMap)))
		return out;
	auto fd = open_macs(l);
	if (!fd)
		return std::unexpected(fd.error());
	xdpctl_mac key{}, next{};
	xdpctl_mac *prev = nullptr;
	while (bpf_map_get_next_key(fd->get(), prev, &next) == 0) {
		key = next;
		prev = &key;
		uint32_t g = 0;
		if (bpf_map_lookup_elem(fd->get(), &key, &g))
			continue; // deleted while we walked
		MacAddr m{};
		std::memcpy(m.data(), key.addr, m.size());
		out.push_back({m, g, {}});
	}
	std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.mac < b.mac; });
	return out;
}

} // namespace xdpctl
