#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "loader_internal.hpp"
#include "xdpctl/compat.h"
#include "xdpctl/loader.hpp"
#include "xdpctl/privileges.hpp"
#include "xdpctl/state.hpp"
#include "xdpctl/stats.h"
#include "xdpctl/status.hpp"

namespace xdpctl {

namespace detail {

Result<LinkInfo> link_info(int link_fd)
{
	bpf_link_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", "link");
	return LinkInfo{info.id, info.prog_id, info.type == BPF_LINK_TYPE_XDP ? info.xdp.ifindex : 0, info.type};
}

Result<LinkInfo> pinned_link_info(const Layout &l, int ifindex)
{
	std::string pin = l.link_pin(ifindex);
	Fd fd(bpf_obj_get(pin.c_str()));
	if (!fd)
		return fail(errno, "open pinned link", pin);
	return link_info(fd.get());
}

Error with_privilege_hint(Error e)
{
	// "needs root" only when it is true: the verifier, an LSM or a kernel limit also say EPERM/EACCES.
	if ((e.err == EPERM || e.err == EACCES) && e.detail.empty())
		if (auto p = require_privileges("xdpctl", kLoadCaps); !p)
			e.detail = p.error().detail;
	return e;
}

namespace {
Status check_reusable(bpf_map *m, int fd, const std::string &path)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", path);
	// The kernel makes every devmap BPF_F_RDONLY_PROG itself (its lookup hands out a pointer
	// into the entry), so a pinned devmap never has exactly the flags the object asked for.
	uint32_t flags = info.map_flags;
	if (info.type == BPF_MAP_TYPE_DEVMAP || info.type == BPF_MAP_TYPE_DEVMAP_HASH)
		flags = (flags & ~static_cast<uint32_t>(BPF_F_RDONLY_PROG)) | (bpf_map__map_flags(m) & BPF_F_RDONLY_PROG);
	if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) || info.max_entries != bpf_map__max_entries(m) ||
	    flags != bpf_map__map_flags(m))
		return fail(EINVAL, "reuse map", path,
			    "the pinned map has another type or size than this program's " + std::string(bpf_map__name(m)) +
				    "; unload every interface of this namespace (xdpctl unload --all) first");
	return {};
}
} // namespace

Status load_instance(ResolvedProgram &rp, const Layout &l, Txn &txn, int bind_ifindex)
{
	if (bind_ifindex) {
		bpf_program__set_ifindex(rp.prog, bind_ifindex);
		if (int err = bpf_program__set_flags(rp.prog, bpf_program__flags(rp.prog) | BPF_F_XDP_DEV_BOUND_ONLY))
			return fail(-err, "set flags", rp.name);
	}
	std::vector<bpf_map *> to_pin;
	for (const auto &name : rp.shared_maps) {
		bpf_map *m = rp.obj.map(name);
		if (!m)
			continue;
		std::string path = l.map_pin(name);
		if (!path_exists(path)) {
			to_pin.push_back(m);
			continue;
		}
		Fd fd(bpf_obj_get(path.c_str()));
		if (!fd)
			return fail(errno, "open pinned map", path);
		// a group devmap is resized by the loader (devmap_group.cpp): the pinned size is the one
		if (auto t = bpf_map__type(m); t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH) {
			bpf_map_info info{};
			uint32_t len = sizeof(info);
			if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 && info.type == t)
				(void)bpf_map__set_max_entries(m, info.max_entries);
		}
		if (auto st = check_reusable(m, fd.get(), path); !st)
			return st;
		if (int err = bpf_map__reuse_fd(m, fd.get()))
			return fail(-err, "bpf_map__reuse_fd", path);
	}
	if (auto st = rp.obj.load(); !st) {
		auto e = st.error();
		e.object = rp.name;
		if (bind_ifindex && e.err == EOPNOTSUPP && e.detail.empty())
			e.detail = "the device cannot run device-bound programs";
		if ((e.err == EPERM || e.err == EACCES) && !e.verifier)
			e.detail.clear(); // libbpf's warnings say nothing useful here; the privilege check does
		return std::unexpected(with_privilege_hint(std::move(e)));
	}
	if (!to_pin.empty()) {
		if (auto st = txn.mkdir(l.ns_dir()); !st)
			return st;
		if (auto st = txn.mkdir(l.maps_dir()); !st)
			return st;
	}
	for (bpf_map *m : to_pin)
		if (auto st = txn.pin(bpf_map__fd(m), l.map_pin(bpf_map__name(m))); !st)
			return st;
	return {};
}

std::vector<int> pinned_ifindexes(const Layout &l)
{
	std::vector<int> out;
	for (const auto &n : list_dir(l.ns_dir())) {
		if (n.size() > 2 && n.starts_with("if") && std::all_of(n.begin() + 2, n.end(), ::isdigit))
			out.push_back(std::stoi(n.substr(2)));
	}
	std::sort(out.begin(), out.end());
	return out;
}

Seen see_link(const std::string &pin, int dir_ifindex)
{
	Fd fd(bpf_obj_get(pin.c_str()));
	if (!fd)
		return {};
	auto li = detail::link_info(fd.get());
	if (!li || li->type != BPF_LINK_TYPE_XDP)
		return {};
	if (!li->ifindex)
		return {Where::Gone, *li};
	// An ifindex names a device of the caller's namespace only: the link is here when the device
	// with its ifindex here runs its program (xdpctl loads one instance per interface).
	auto att = xdp_attachment(static_cast<int>(li->ifindex));
	bool here = att && li->prog_id &&
		    (att->prog_id == li->prog_id || att->drv_prog_id == li->prog_id || att->skb_prog_id == li->prog_id);
	if (here && (!dir_ifindex || li->ifindex == static_cast<uint32_t>(dir_ifindex)))
		return {Where::Here, *li};
	return {Where::Elsewhere, *li};
}

// An interface moved here with the link xdpctl made in its old namespace: that pin, wherever it
// is under ROOT (if<IFINDEX> or moved<LINK_ID> of another namespace's directory).
std::optional<std::string> foreign_pin_dir(const Layout &l, const XdpAttachment &att)
{
	for (const auto &ns : list_dir(l.root)) {
		std::string nsdir = l.root + "/" + ns;
		if (!ns.starts_with("ns") || nsdir == l.ns_dir())
			continue;
		for (const auto &d : list_dir(nsdir)) {
			if (!d.starts_with("if") && !d.starts_with("moved"))
				continue;
			std::string dir = nsdir + "/" + d;
			Fd fd(bpf_obj_get((dir + "/link").c_str()));
			if (!fd)
				continue;
			auto li = detail::link_info(fd.get());
			if (li && li->prog_id && (li->prog_id == att.prog_id || li->prog_id == att.drv_prog_id ||
						  li->prog_id == att.skb_prog_id))
				return dir;
		}
	}
	return std::nullopt;
}

} // namespace detail

namespace {

using detail::LinkInfo;

struct Target {
	std::string ifname;
	int ifindex = 0;
	XdpAttachment att;
	std::optional<LinkInfo> ours; // xdpctl's link, holding the attached program
};

using detail::foreign_pin_dir;
using detail::Seen;
using detail::see_link;
using detail::Where;

// Removes a directory of pins; detach: the link is detached first (it may be held by another
// pin or fd), so a command killed between the two leaves a Gone link the next one removes.
void remove_dir(const std::string &dir, bool detach)
{
	if (detach) {
		Fd link(bpf_obj_get((dir + "/link").c_str()));
		if (link) {
			step_boundary();
			(void)bpf_link_detach(link.get());
		}
	}
	step_boundary();
	for (const auto &n : list_dir(dir))
		::unlink((dir + "/" + n).c_str());
	::rmdir(dir.c_str());
}

// The per-interface maps of a program (what its if<IFINDEX> directory holds besides the link).
std::vector<std::string> if_maps_of(const ProgramSource &src)
{
	if (!src.is_file()) {
		if (const auto *spec = find_program(src.name_or_path))
			return spec->if_maps;
		return {};
	}
	auto rp = resolve_program(src, ProgKind::Xdp);
	return rp ? rp->if_maps : std::vector<std::string>{};
}

// A replace killed after its bpf_link_update: the new program's maps, pinned as NAME-new, take
// their final names; maps the new program does not have go.
void finish_staged(const std::string &dir, const std::vector<std::string> &if_maps)
{
	for (const auto &n : list_dir(dir))
		if (n.ends_with(kStagedSuffix)) {
			step_boundary();
			std::string to = dir + "/" + n.substr(0, n.size() - std::strlen(kStagedSuffix));
			if (::rename((dir + "/" + n).c_str(), to.c_str()))
				::unlink((dir + "/" + n).c_str());
		}
	if (if_maps.empty())
		return; // program unknown (recorded by an older xdpctl): keep what is there
	for (const auto &n : list_dir(dir))
		if (n != "link" && std::find(if_maps.begin(), if_maps.end(), n) == if_maps.end())
			::unlink((dir + "/" + n).c_str());
}

// A replace killed before its bpf_link_update: the staged maps of the new program go.
void drop_staged(const std::string &dir)
{
	for (const auto &n : list_dir(dir))
		if (n.ends_with(kStagedSuffix))
			::unlink((dir + "/" + n).c_str());
}

// Every fact of the desired state that names this ifindex: a device that went takes its
// interface record, its rules (as ingress or egress) and its group memberships with it.
void forget_device(DesiredState &s, int ifindex)
{
	std::erase_if(s.interfaces, [&](const auto &i) { return i.ifindex == ifindex; });
	std::erase_if(s.rules, [&](const auto &r) { return r.in_ifindex == ifindex || r.out_ifindex == ifindex; });
	std::erase_if(s.ports, [&](const auto &p) { return p.ifindex == ifindex; });
}

// The record of a live link xdpctl finds pinned without a record of its own (pinned by an xdpctl
// older than the record, or moved back into this namespace): kept as it is, program unknown (a
// later load of it needs --replace).
IfState adopt_record(int ifindex, const LinkInfo &li)
{
	IfState i;
	i.ifindex = ifindex;
	if (auto n = ifname_of(ifindex))
		i.name = *n;
	if (auto att = xdp_attachment(ifindex))
		i.skb = att->skb_prog_id == li.prog_id && att->drv_prog_id != li.prog_id;
	if (auto c = counters_on(li.prog_id); c && *c)
		i.counters = **c;
	i.program = {"", ""};
	i.link_id = li.id;
	i.prog_id = li.prog_id;
	i.pending = false;
	return i;
}

// The facts of a device named name at ifindex went: Gone, saying why when the ifindex is here
// under another name (a rename xdpctl cannot prove, or another device that got the ifindex).
Detached gone(const std::string &name, int ifindex)
{
	Detached d{name, ifindex, "", DetachState::Gone};
	if (auto n = ifname_of(ifindex); n && *n != name)
		d.detail = "ifindex " + std::to_string(ifindex) + " is now " + *n +
			   ", which xdpctl cannot tell from a new device: no link of xdpctl's runs on it, no rule sends to it";
	return d;
}

// A recorded interface whose device is not here any more and whose pins are gone: Moved when the
// link xdpctl made still runs the recorded program somewhere (the interface moved to another
// namespace, whose xdpctl took its pins: `xdpctl unload` there), else Gone.
Detached moved_or_gone(const IfState &rec)
{
	if (Fd fd(rec.link_id ? bpf_link_get_fd_by_id(rec.link_id) : -1); fd)
		if (auto li = detail::link_info(fd.get());
		    li && li->type == BPF_LINK_TYPE_XDP && li->ifindex && li->prog_id == rec.prog_id)
			return {rec.name, static_cast<int>(li->ifindex), prog_name(li->prog_id), DetachState::Moved};
	return gone(rec.name, rec.ifindex);
}

std::vector<std::string> moved_dirs(const Layout &l)
{
	std::vector<std::string> out;
	for (const auto &n : list_dir(l.ns_dir()))
		if (n.starts_with("moved"))
			out.push_back(l.ns_dir() + "/" + n);
	return out;
}

// What a deleted namespace left under ROOT/ns<INODE> when this namespace got its inode (the
// record names another netns cookie): nothing of it is this namespace's, so nothing is inherited.
// The directories of its links whose devices went with it, its shared maps (their rules name its
// devices), its monitor (which counts by the inode: it would count this namespace's events as
// the dead one's) and its record are removed, and that is said in one note. Links that still run
// in another namespace (moved<LINK_ID>, or an if<IFINDEX> whose device was moved out before the
// namespace died) are kept: unpinning them would detach them; converge reports them as moved.
// The record goes last: a command killed in between finds it and finishes the job.
void drop_leftovers(const Layout &l, const NetnsId &dead, const NetnsId &now, std::vector<Detached> &notes)
{
	std::vector<std::string> what;
	int links = 0;
	for (int idx : detail::pinned_ifindexes(l))
		if (auto w = see_link(l.link_pin(idx), idx).where; w == Where::Gone || w == Where::None) {
			remove_dir(l.if_dir(idx), false);
			links++;
		}
	if (links)
		what.push_back(std::to_string(links) + " link" + (links == 1 ? "" : "s") + " of its removed interfaces");
	for (const auto &[dir, name] : {std::pair{l.maps_dir(), "its shared maps and their rules"},
					std::pair{l.monitor_dir(), "its monitor"}}) {
		if (!path_exists(dir))
			continue;
		step_boundary();
		for (const auto &n : list_dir(dir))
			::unlink((dir + "/" + n).c_str());
		::rmdir(dir.c_str());
		what.push_back(name);
	}
	remove_state(l);
	std::string list;
	for (size_t i = 0; i < what.size(); i++)
		list += (i ? (i + 1 == what.size() ? " and " : ", ") : ": ") + what[i];
	notes.push_back({"", 0, "", DetachState::Leftover,
			 "removed what a deleted network namespace (netns cookie " + std::to_string(dead.cookie) +
				 ") left under the inode this one reuses (" + std::to_string(now.inode) + ", cookie " +
				 std::to_string(now.cookie) + ")" + (what.empty() ? ": its record" : list)});
}

// unload's share of the record's devmap facts (issue 16: no rule left sending to, or from, an
// interface whose program xdpctl removed): the redirect rules with an unloaded interface as
// ingress or egress and the group ports of one are dropped from st, and, once st has no interface
// left (the shared maps go with the last one), every rule and port. One Removed step each, saying
// which and why; an interface without a program of xdpctl (not in unloaded) keeps its entries.
std::vector<Detached> drop_entries_of(DesiredState &st, const std::set<int> &unloaded)
{
	const bool last = st.interfaces.empty();
	const std::string no_interface_left = "no interface of xdpctl is left in this namespace: its shared maps go";
	auto why = [&](std::initializer_list<std::pair<int, const std::string *>> named) -> std::optional<std::string> {
		for (const auto &[idx, name] : named)
			if (unloaded.contains(idx))
				return *name + " was unloaded";
		if (last)
			return no_interface_left;
		return std::nullopt;
	};
	std::vector<Detached> out;
	std::erase_if(st.rules, [&](const RuleState &r) {
		auto reason = why({{r.in_ifindex, &r.in_name}, {r.out_ifindex, &r.out_name}});
		if (reason)
			out.push_back({r.in_name, r.in_ifindex, "", DetachState::Removed,
				       "removed redirect " + r.in_name + " -> " + r.out_name + " (" + *reason + ")"});
		return reason.has_value();
	});
	std::erase_if(st.ports, [&](const PortState &p) {
		auto reason = why({{p.ifindex, &p.name}});
		if (reason)
			out.push_back({p.name, p.ifindex, "", DetachState::Removed,
				       "removed " + p.name + " from " + detail::group_title(p.group) + " (" + *reason + ")"});
		return reason.has_value();
	});
	return out;
}

// ---- A command's session: the lock, the desired state, and the repair every command starts with ----

using detail::Session;

Result<Session> open_session(const Layout &l)
{
	auto lock = RootLock::acquire(l);
	if (!lock)
		return std::unexpected(lock.error());
	auto id = current_netns();
	if (!id)
		return std::unexpected(id.error());
	Session s{l, std::move(*lock), {}, false, {}};
	auto rec = read_state(l);
	if (!rec)
		return std::unexpected(rec.error());
	if (*rec && (*rec)->netns == *id) {
		s.st = std::move(**rec);
		s.recorded = true;
	} else if (*rec) {
		// a record of a namespace that died, whose inode this one got: nothing of it is ours
		drop_leftovers(l, (*rec)->netns, *id, s.notes);
	}
	s.st.netns = *id;
	if (!s.recorded)
		for (int idx : detail::pinned_ifindexes(l))
			if (auto seen = see_link(l.link_pin(idx), idx); seen.where == Where::Here)
				s.st.interfaces.push_back(adopt_record(idx, seen.li));
	return s;
}

} // namespace

namespace detail {
Result<std::vector<Detached>> drop_dead_namespace(const Layout &l)
{
	std::vector<Detached> notes;
	auto rec = read_state(l);
	if (!rec || !*rec)
		return notes; // a corrupt record is refused by the verbs that read it, not here
	auto id = current_netns();
	if (!id)
		return std::unexpected(id.error());
	if ((*rec)->netns != *id)
		drop_leftovers(l, (*rec)->netns, *id, notes);
	return notes;
}
} // namespace detail

namespace {

Status realize_one(Session &s, IfState &rec);
Status converge(Session &s, bool report = true);

std::function<void(const Detached &)> &observer()
{
	static std::function<void(const Detached &)> f;
	return f;
}

// Brings the kernel to the desired state without knowing what was interrupted: links of devices
// that went are unpinned and their facts forgotten, links that moved to another namespace are
// kept (renamed moved<LINK_ID>, never detached from here), links nobody wants any more are
// detached, a load or replace that was killed is finished, and the devmaps are made to hold the
// rules and ports of the record. Pending interfaces that cannot be realized are dropped.
// report: what it finishes is noted in s.notes (false when the command itself changed the record
// and converges to carry that out: unload's detaches are its own, not a repair).
Status converge(Session &s, bool report)
{
	const Layout &l = s.l;
	std::vector<int> forgotten;
	std::set<int> stayed; // devices that provably were never removed (see same_device below)
	for (int idx : detail::pinned_ifindexes(l)) {
		std::string dir = l.if_dir(idx);
		Seen seen = see_link(l.link_pin(idx), idx);
		if (seen.where == Where::Here)
			stayed.insert(idx);
		IfState *rec = s.st.find_if(idx);
		std::string name = rec ? rec->name : "";
		std::string prog = seen.li.prog_id ? prog_name(seen.li.prog_id) : "";
		switch (seen.where) {
		case Where::Elsewhere: {
			std::string to = l.ns_dir() + "/moved" + std::to_string(seen.li.id);
			step_boundary();
			if (::rename(dir.c_str(), to.c_str()))
				return fail(errno, "rename", dir);
			s.notes.push_back({name, idx, prog, DetachState::Moved});
			forgotten.push_back(idx);
			break;
		}
		case Where::Gone:
			remove_dir(dir, false);
			s.notes.push_back({name, idx, prog, DetachState::Gone});
			forgotten.push_back(idx);
			break;
		case Where::None:
			remove_dir(dir, false);
			if (rec) {
				rec->link_id = 0;
				rec->pending = true;
			}
			break;
		case Where::Here:
			if (!rec) {
				remove_dir(dir, true);
				if (report)
					s.notes.push_back({ifname_of(idx).value_or(""), idx, prog, DetachState::Unloaded,
							   "finished an interrupted unload"});
				break;
			}
			if (auto n = ifname_of(idx))
				rec->name = *n;
			if (rec->pending && rec->link_id == seen.li.id && seen.li.prog_id == rec->prog_id) {
				drop_staged(dir); // the swap never happened: redone below
			} else {
				finish_staged(dir, if_maps_of(rec->program));
				if (rec->pending && report) // the swap happened, its pins were not finished
					s.notes.push_back({rec->name, idx, prog, DetachState::Finished});
				rec->link_id = seen.li.id;
				rec->prog_id = seen.li.prog_id;
				rec->pending = false;
			}
			break;
		}
	}
	for (const auto &dir : moved_dirs(l)) {
		Seen seen = see_link(dir + "/link", 0);
		if (seen.where == Where::Gone || seen.where == Where::None) {
			remove_dir(dir, false); // the device went, or its program was unloaded in its new namespace
		} else if (seen.where == Where::Here && !path_exists(l.if_dir(static_cast<int>(seen.li.ifindex)))) {
			step_boundary(); // moved back
			if (::rename(dir.c_str(), l.if_dir(static_cast<int>(seen.li.ifindex)).c_str()) == 0 &&
			    !s.st.find_if(static_cast<int>(seen.li.ifindex)))
				s.st.interfaces.push_back(adopt_record(static_cast<int>(seen.li.ifindex), seen.li));
		}
	}
	// A fact names its device by ifindex and name. A device renamed since (`ip link set p1 name
	// p1x`) keeps its ifindex, its XDP link and the devmap entries that send to it; a removed one
	// loses them (its link reports ifindex 0, handled above as Gone; the kernel deletes the
	// entries sending to it: dev_map_notification), and a device added later may get its
	// ifindex. So a name that changed is followed (every fact keeps the device, under its new
	// name) when the device provably stayed: xdpctl's link runs on it, or an entry sends to it.
	// Otherwise the device the fact names went, and its facts go with it, said as Gone.
	if (auto dm = devmaps_status(l))
		for (const auto &d : *dm)
			for (const auto &e : d.entries)
				stayed.insert(static_cast<int>(e.ifindex));
	auto same_device = [&](int idx, std::string &name) {
		auto n = ifname_of(idx);
		if (!n)
			return false;
		if (*n != name && !stayed.contains(idx))
			return false;
		name = *n;
		return true;
	};
	for (auto &rec : s.st.interfaces) {
		if (std::find(forgotten.begin(), forgotten.end(), rec.ifindex) != forgotten.end() ||
		    path_exists(l.link_pin(rec.ifindex)))
			continue;
		// no link: the device the record names must still be here
		if (!same_device(rec.ifindex, rec.name)) {
			s.notes.push_back(moved_or_gone(rec));
			forgotten.push_back(rec.ifindex);
		} else if (rec.link_id) {
			rec.link_id = 0;
			rec.pending = true;
		}
	}
	for (int idx : forgotten)
		forget_device(s.st, idx);
	// rules and ports naming a device that is not here any more
	std::set<int> went;
	auto check = [&](int idx, std::string &name) {
		if (went.contains(idx))
			return false;
		if (same_device(idx, name))
			return true;
		went.insert(idx);
		s.notes.push_back(gone(name, idx));
		return false;
	};
	for (auto &r : s.st.rules)
		if (check(r.in_ifindex, r.in_name))
			(void)check(r.out_ifindex, r.out_name);
	for (auto &p : s.st.ports)
		(void)check(p.ifindex, p.name);
	for (int idx : went)
		forget_device(s.st, idx);

	// pending interfaces, one by one: one that fails is dropped, the others go on
	for (size_t i = 0; i < s.st.interfaces.size();) {
		auto &rec = s.st.interfaces[i];
		if (!rec.pending) {
			i++;
			continue;
		}
		if (auto st = realize_one(s, rec); !st) {
			s.notes.push_back({rec.name, rec.ifindex, "", DetachState::Failed, st.error().message()});
			s.st.interfaces.erase(s.st.interfaces.begin() + static_cast<long>(i));
			continue;
		}
		if (report)
			s.notes.push_back({rec.name, rec.ifindex, prog_name(rec.prog_id), DetachState::Finished});
		i++;
	}
	if (s.st.interfaces.empty()) {
		s.st.rules.clear();
		s.st.ports.clear();
	}
	const size_t noted = s.notes.size();
	if (auto st = detail::reconcile_devmaps(l, s.st, s.recorded, report ? &s.notes : nullptr); !st)
		return st;
	// the entries of a device that went were said with it (Gone, Moved), not as a del that was killed
	s.notes.erase(std::remove_if(s.notes.begin() + static_cast<long>(noted), s.notes.end(),
				     [&](const Detached &n) {
					     return n.state == DetachState::Entry &&
						    (went.contains(n.ifindex) ||
						     std::find(forgotten.begin(), forgotten.end(), n.ifindex) != forgotten.end());
				     }),
		      s.notes.end());
	return {};
}

Status finish_state(Session &s)
{
	const Layout &l = s.l;
	if (!s.st.interfaces.empty() || !detail::pinned_ifindexes(l).empty()) {
		if (auto st = write_state(l, s.st); !st)
			return st;
		s.recorded = true;
		return {};
	}
	if (path_exists(l.maps_dir())) {
		step_boundary();
		for (const auto &n : list_dir(l.maps_dir()))
			::unlink((l.maps_dir() + "/" + n).c_str());
		::rmdir(l.maps_dir().c_str());
	}
	if (!moved_dirs(l).empty()) {
		if (!path_exists(l.ns_dir()))
			return {};
		if (auto st = write_state(l, s.st); !st)
			return st;
		s.recorded = true;
		return {};
	}
	remove_state(l);
	::rmdir(l.ns_dir().c_str()); // stays while the monitor has pins in it
	return {};
}

Result<Target> inspect(const Session &s, const std::string &ifname)
{
	auto idx = ifindex_of(ifname);
	if (!idx)
		return std::unexpected(idx.error());
	auto att = xdp_attachment(*idx);
	if (!att)
		return std::unexpected(detail::with_privilege_hint(att.error()));
	Target t{ifname, *idx, *att, std::nullopt};
	// after repair, a recorded interface's link is here and runs what the record says
	if (auto *rec = const_cast<DesiredState &>(s.st).find_if(*idx); rec && rec->link_id && att->prog_id)
		t.ours = LinkInfo{rec->link_id, rec->prog_id, static_cast<uint32_t>(*idx), BPF_LINK_TYPE_XDP};
	return t;
}

// How to remove a program xdpctl did not attach to ifname. One attached through netlink goes with
// `ip link set dev IFNAME xdp off`, in its mode (a plain `xdp off` on a veth removes the native
// program only, and leaves a generic one attached); one held by a bpf_link (another tool's, or
// xdpctl's under another XDPCTL_BPFFS) cannot (the kernel refuses: "Can't replace active BPF
// XDP link"): its owner removes it (closes or unpins the link), or `bpftool link detach` does.
std::string removal_hint(const std::string &ifname, int ifindex, const XdpAttachment &att, bool before_load)
{
	auto ip = [&](const char *kw) { return "ip link set dev " + ifname + " " + kw + " off"; };
	const std::string first = before_load ? " first" : "";
	if (uint32_t id = detail::find_xdp_link(ifindex, att.prog_id)) {
		std::string n = std::to_string(id);
		return "it is attached through bpf_link id " + n + ", which `" + ip("xdp") + "` cannot remove: remove it" +
		       first + " with the tool that attached it, or detach the link (bpftool link detach id " + n + ")";
	}
	std::string cmds;
	for (auto [id, kw] : {std::pair{att.drv_prog_id, "xdp"}, {att.skb_prog_id, "xdpgeneric"}, {att.hw_prog_id, "xdpoffload"}})
		if (id)
			cmds += (cmds.empty() ? "" : before_load ? "; " : "` and `") + ip(kw);
	if (cmds.empty())
		cmds = ip("xdp");
	return before_load ? "remove it first (" + cmds + ")" : "remove it with `" + cmds + "`";
}

Error attach_error(int err, const Target &t, AttachMode mode, bool dev_bound)
{
	switch (err) {
	case EOPNOTSUPP:
		if (mode == AttachMode::Native)
			return Error{err, "attach", t.ifname,
				     "native XDP is not possible on this device (its driver has no XDP support); load it in generic mode with -m skb"};
		break;
	case EBUSY:
	case EEXIST:
		return Error{err, "attach", t.ifname,
			     "another XDP program got attached meanwhile (another loader?); see `xdpctl status`"};
	case EINVAL:
		if (dev_bound && mode == AttachMode::Skb)
			return Error{err, "attach", t.ifname, "a device-bound program attaches in native mode only; drop -m skb"};
		break;
	default:
		break;
	}
	return detail::with_privilege_hint(Error{err, "attach", t.ifname, {}});
}

// Creates the XDP links on a second thread while the calling thread loads the next instances.
// Attaching a program the kernel's XDP dispatcher does not hold yet rewrites the dispatcher and
// waits for an RCU grace period (13-17 ms each for the first 48 distinct programs on this
// machine; the dispatcher holds no more): time in which the loading thread works on. The thread
// only calls bpf_link_create; pins and errors stay with the caller, after finish().
class Attacher {
public:
	struct Job {
		Fd prog; // a dup: the instance's object may be closed before the link exists
		int ifindex = 0;
		uint32_t flags = 0;
		Fd link;
		int err = 0;
	};

	Attacher() : thread_([this] { run(); }) {}
	Attacher(const Attacher &) = delete;
	Attacher &operator=(const Attacher &) = delete;
	// Unfinished (the load failed): links not made yet are not made; made ones close, detaching.
	~Attacher()
	{
		{
			std::lock_guard g(mu_);
			stop_ = true;
		}
		finish();
	}

	[[nodiscard]] Status add(int prog_fd, int ifindex, uint32_t flags)
	{
		Fd prog(fcntl(prog_fd, F_DUPFD_CLOEXEC, 0));
		if (!prog)
			return fail(errno, "dup", "program fd");
		{
			std::lock_guard g(mu_);
			jobs_.push_back({std::move(prog), ifindex, flags, Fd(), 0});
		}
		cv_.notify_one();
		return {};
	}
	// Waits for every link; the jobs are then the caller's (in the order added).
	std::deque<Job> &finish()
	{
		{
			std::lock_guard g(mu_);
			done_ = true;
		}
		cv_.notify_one();
		if (thread_.joinable())
			thread_.join();
		return jobs_;
	}

private:
	void run()
	{
		for (size_t i = 0;; i++) {
			Job *j = nullptr;
			{
				std::unique_lock g(mu_);
				cv_.wait(g, [&] { return done_ || i < jobs_.size(); });
				if (stop_ || i >= jobs_.size())
					return;
				j = &jobs_[i]; // a deque's elements stay put while others are appended
			}
			LIBBPF_OPTS(bpf_link_create_opts, co, .flags = j->flags);
			j->link = Fd(bpf_link_create(j->prog.get(), j->ifindex, BPF_XDP, &co));
			j->err = j->link ? 0 : errno;
			j->prog = Fd();
		}
	}

	std::mutex mu_;
	std::condition_variable cv_;
	std::deque<Job> jobs_;
	bool done_ = false, stop_ = false;
	std::thread thread_; // last: started once the members it uses exist
};


// Loads and attaches, or swaps in, the program each record of want asks for on targets[i] (same
// order); everything made is registered in txn. A swap pins the new maps as NAME-new: renames
// and stale_pins are for after the commit (finish_renames).
struct Realized {
	std::vector<Attached> out;
	std::vector<std::pair<std::string, std::string>> renames;
	std::vector<std::string> stale_pins;
};

Result<Realized> realize(const Layout &l, const std::vector<Target> &targets, const std::vector<IfState> &want,
			 std::optional<ResolvedProgram> checked, Txn &txn, Attacher &attacher)
{
	Realized r;
	std::vector<std::pair<size_t, bool>> attached_at; // per attacher job: its out[] index, device-bound
	if (auto st = txn.mkdir(l.ns_dir()); !st)
		return std::unexpected(st.error());
	for (size_t i = 0; i < targets.size(); i++) {
		const Target &t = targets[i];
		const IfState &w = want[i];
		const AttachMode mode = w.skb ? AttachMode::Skb : AttachMode::Native;
		Result<ResolvedProgram> rp = checked ? Result<ResolvedProgram>(std::move(*checked))
						     : resolve_program(w.program, ProgKind::Xdp);
		checked.reset();
		if (!rp)
			return std::unexpected(rp.error());
		bool bound = w.dev_bound || rp->dev_bound;
		if (bound && w.skb)
			return fail(EINVAL, "load", t.ifname, "a device-bound program attaches in native mode only; drop -m skb");
		if (!w.counters) {
			const uint8_t off = 0;
			if (auto st = rp->obj.set_rodata(XDPCTL_STATS_SWITCH, &off, sizeof(off)); !st)
				return std::unexpected(st.error());
		}
		if (auto st = detail::load_instance(*rp, l, txn, bound ? t.ifindex : 0); !st)
			return std::unexpected(st.error());
		int prog_fd = bpf_program__fd(rp->prog);
		bpf_prog_info pinfo{};
		uint32_t plen = sizeof(pinfo);
		if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &plen))
			return fail(errno, "bpf_obj_get_info_by_fd", rp->name);
		Attached a{t.ifname, t.ifindex, rp->name, pinfo.id, 0, mode, false, l.link_pin(t.ifindex), w.counters};

		if (t.ours) {
			// Atomic replace: the link keeps the device's XDP hook; only its program changes.
			for (const auto &m : rp->if_maps) {
				bpf_map *bm = rp->obj.map(m);
				if (!bm)
					continue;
				std::string fin = l.if_map_pin(t.ifindex, m);
				// bpffs refuses every name with a dot in it (EPERM); a map name has no '-'
				step_boundary();
				if (auto st = txn.pin(bpf_map__fd(bm), fin + kStagedSuffix); !st)
					return std::unexpected(st.error());
				r.renames.emplace_back(fin + kStagedSuffix, fin);
			}
			for (const auto &n : list_dir(l.if_dir(t.ifindex)))
				if (n != "link" && std::find(rp->if_maps.begin(), rp->if_maps.end(), n) == rp->if_maps.end() &&
				    !n.ends_with(kStagedSuffix))
					r.stale_pins.push_back(l.if_dir(t.ifindex) + "/" + n);
			auto link = std::make_shared<Fd>(bpf_obj_get(l.link_pin(t.ifindex).c_str()));
			auto old = std::make_shared<Fd>(bpf_prog_get_fd_by_id(t.ours->prog_id));
			if (!*link || !*old)
				return fail(errno, "open", l.link_pin(t.ifindex));
			LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(old->get()));
			step_boundary();
			if (bpf_link_update(link->get(), prog_fd, &uo))
				return fail(errno, "bpf_link_update", t.ifname,
					    errno == EPERM ? "the program changed meanwhile; retry" : "");
			txn.on_undo([link, old] { (void)bpf_link_update(link->get(), old->get(), nullptr); });
			a.link_id = t.ours->id;
			a.replaced = true;
			if (auto li = detail::link_info(link->get()))
				a.link_id = li->id;
		} else {
			if (auto st = txn.mkdir(l.if_dir(t.ifindex)); !st)
				return std::unexpected(st.error());
			for (const auto &m : rp->if_maps) {
				bpf_map *bm = rp->obj.map(m);
				if (bm) {
					step_boundary();
					if (auto st = txn.pin(bpf_map__fd(bm), l.if_map_pin(t.ifindex, m)); !st)
						return std::unexpected(st.error());
				}
			}
			if (auto st = attacher.add(prog_fd, t.ifindex, w.skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE); !st)
				return std::unexpected(st.error());
			attached_at.emplace_back(r.out.size(), bound);
		}
		r.out.push_back(std::move(a));
	}
	auto &jobs = attacher.finish();
	for (size_t i = 0; i < jobs.size(); i++) {
		auto [at, bound] = attached_at[i];
		Attached &a = r.out[at];
		if (!jobs[i].link)
			return std::unexpected(attach_error(jobs[i].err, targets[at], a.mode, bound));
		step_boundary();
		if (auto st = txn.pin(jobs[i].link.get(), a.link_pin); !st)
			return std::unexpected(st.error());
		if (auto li = detail::link_info(jobs[i].link.get()))
			a.link_id = li->id;
	}
	return r;
}

void finish_renames(const Realized &r)
{
	for (const auto &[from, to] : r.renames) {
		step_boundary();
		if (::rename(from.c_str(), to.c_str()))
			::unlink(from.c_str());
	}
	for (const auto &p : r.stale_pins)
		::unlink(p.c_str());
}

Status realize_one(Session &s, IfState &rec)
{
	auto idx = ifindex_of(rec.name);
	if (!idx || *idx != rec.ifindex)
		return fail(ENODEV, "load", rec.name, "the interface went away before its load finished");
	auto att = xdp_attachment(rec.ifindex);
	if (!att)
		return std::unexpected(att.error());
	Target t{rec.name, rec.ifindex, *att, std::nullopt};
	if (rec.link_id && att->prog_id)
		t.ours = LinkInfo{rec.link_id, rec.prog_id, static_cast<uint32_t>(rec.ifindex), BPF_LINK_TYPE_XDP};
	else if (att->prog_id)
		return fail(EEXIST, "load", rec.name, "another XDP program got attached meanwhile");
	Attacher attacher;
	Txn txn;
	auto r = realize(s.l, {t}, {rec}, std::nullopt, txn, attacher);
	if (!r)
		return std::unexpected(r.error());
	rec.link_id = r->out[0].link_id;
	rec.prog_id = r->out[0].prog_id;
	rec.pending = false;
	txn.commit();
	finish_renames(*r);
	return {};
}

// The record as it was before a command edited it, written back when the command fails.
void restore_on_undo(Txn &txn, const Session &s, DesiredState before)
{
	Layout l = s.l;
	bool recorded = s.recorded;
	txn.on_undo([l, recorded, before = std::move(before)] {
		if (recorded || !before.empty())
			(void)write_state(l, before);
		else
			remove_state(l);
	});
}

} // namespace

namespace detail {
Result<Session> open_converged(const Layout &l)
{
	auto s = open_session(l);
	if (!s)
		return std::unexpected(s.error());
	if (auto st = converge(*s); !st)
		return std::unexpected(st.error());
	return s;
}
Status settle_state(Session &s)
{
	return finish_state(s);
}
void report_convergence(const std::vector<Detached> &notes)
{
	if (observer())
		for (const auto &n : notes)
			observer()(n);
}
} // namespace detail

void set_convergence_observer(std::function<void(const Detached &)> f)
{
	observer() = std::move(f);
}

Result<std::vector<Attached>> load(const LoadRequest &req)
{
	if (req.interfaces.empty())
		return fail(EINVAL, "load", req.program.name_or_path, "no interface given");
	if (auto st = require_privileges("load", kLoadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());

	// The program is checked before anything is made (it can be opened without touching the
	// system); the opened object serves the first interface, each further one opens its own.
	std::optional<ResolvedProgram> checked;
	{
		auto rp = resolve_program(req.program, ProgKind::Xdp);
		if (!rp)
			return std::unexpected(rp.error());
		checked.emplace(std::move(*rp));
	}
	if (!req.counters && !checked->obj.has_rodata(XDPCTL_STATS_SWITCH))
		return fail(EINVAL, "load", checked->name,
			    "keeps no xdpctl counters (no const volatile " XDPCTL_STATS_SWITCH "); drop --no-stats");
	Txn made; // the levels of ROOT this load creates: a load that fails takes them back
	if (auto st = ensure_bpffs(*l, &made); !st)
		return std::unexpected(detail::with_privilege_hint(st.error()));
	auto s = open_session(*l);
	if (!s)
		return std::unexpected(s.error());
	// destroyed before the session (under its lock) and after everything below: ROOT's new levels
	// go last when this load fails
	Txn root_levels;
	root_levels.take(made);
	if (auto st = converge(*s); !st)
		return std::unexpected(st.error());
	detail::report_convergence(s->notes);

	IfState base;
	base.program = req.program;
	base.skb = req.mode == AttachMode::Skb;
	base.counters = req.counters;
	base.dev_bound = req.dev_bound;
	std::vector<Target> targets;
	std::vector<IfState> want;
	std::vector<Attached> out;
	for (const auto &ifname : req.interfaces) {
		if (std::any_of(out.begin(), out.end(), [&](const auto &a) { return a.ifname == ifname; }))
			return fail(EINVAL, "load", ifname, "interface given twice");
		auto t = inspect(*s, ifname);
		if (!t)
			return std::unexpected(t.error());
		IfState w = base;
		w.ifindex = t->ifindex;
		w.name = ifname;
		const IfState *rec = s->st.find_if(t->ifindex);
		std::string what = "already has XDP program " + prog_name(t->att.prog_id) + " (id " + std::to_string(t->att.prog_id) + ")";
		if (rec && t->ours) {
			// a link keeps its mode for life (bpf_link_update swaps the program only): without
			// -m the interface keeps it, another one asked for is refused, --replace or not
			auto mode_word = [](bool skb) { return skb ? "skb" : "native"; };
			if (!req.mode_given)
				w.skb = rec->skb;
			else if (w.skb != rec->skb)
				return fail(EEXIST, "load", ifname,
					    what + " loaded by xdpctl in " + mode_word(rec->skb) +
						    " mode; a link keeps its mode (--replace swaps the program, not the mode): unload it "
						    "first (xdpctl unload " + ifname + "), then load it with -m " + mode_word(w.skb));
			const AttachMode mode = w.skb ? AttachMode::Skb : AttachMode::Native;
			if (rec->same_intent(w) && !req.replace) {
				// what was asked is in place: say so, like `ip link set up` on an up link (an
				// explicit --replace swaps in a fresh instance: the object file may have changed)
				out.push_back({ifname, t->ifindex, prog_name(rec->prog_id), rec->prog_id, rec->link_id, mode, false,
					       l->link_pin(t->ifindex), req.counters, true});
				continue;
			}
			if (!req.replace)
				return fail(EEXIST, "load", ifname,
					    what + " loaded by xdpctl" +
						    (rec->program.name_or_path.empty() ? "" : " as " + rec->program.name_or_path) +
						    " with other options or program; unload it first (xdpctl unload " + ifname +
						    ") or swap it atomically with --replace");
			w.link_id = rec->link_id;
			w.prog_id = rec->prog_id;
		} else if (t->att.prog_id) {
			if (foreign_pin_dir(*l, t->att))
				return fail(EEXIST, "load", ifname,
					    what + " loaded by xdpctl in the namespace the interface came from; `xdpctl unload " +
						    ifname + "` here detaches it");
			return fail(EEXIST, "load", ifname,
				    what + " not loaded by xdpctl; " + removal_hint(ifname, t->ifindex, t->att, true));
		}
		w.pending = true;
		out.push_back({ifname, t->ifindex, "", 0, 0, w.skb ? AttachMode::Skb : AttachMode::Native, false,
			       l->link_pin(t->ifindex), req.counters, false});
		targets.push_back(std::move(*t));
		want.push_back(std::move(w));
	}
	if (targets.empty()) {
		if (auto st = finish_state(*s); !st)
			return std::unexpected(st.error());
		root_levels.commit();
		return out;
	}

	// destroyed after txn: on failure, unpinned first, then detached
	Attacher attacher;
	Txn txn;
	if (auto st = txn.mkdir(l->ns_dir()); !st)
		return std::unexpected(st.error());
	restore_on_undo(txn, *s, s->st);
	for (const auto &w : want) {
		if (IfState *rec = s->st.find_if(w.ifindex))
			*rec = w;
		else
			s->st.interfaces.push_back(w);
	}
	// the intent first: from here on, a command killed at any point is finished by the next one
	if (auto st = write_state(*l, s->st); !st)
		return std::unexpected(st.error());
	auto r = realize(*l, targets, want, std::move(checked), txn, attacher);
	if (!r)
		return std::unexpected(r.error());
	for (const auto &a : r->out) {
		IfState *rec = s->st.find_if(a.ifindex);
		rec->link_id = a.link_id;
		rec->prog_id = a.prog_id;
		rec->pending = false;
		auto at = std::find_if(out.begin(), out.end(), [&](const auto &o) { return o.ifindex == a.ifindex; });
		*at = a;
	}
	if (auto st = write_state(*l, s->st); !st)
		return std::unexpected(st.error());
	txn.commit();
	root_levels.commit();
	finish_renames(*r);
	return out;
}

Result<std::vector<Detached>> unload(const std::vector<std::string> &interfaces)
{
	return detail::unload_interfaces(interfaces, false);
}

Result<std::vector<Detached>> detail::unload_interfaces(const std::vector<std::string> &interfaces, bool keep_entries)
{
	if (auto st = require_privileges("unload", kUnloadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	std::vector<std::pair<std::string, int>> names;
	for (const auto &ifname : interfaces) {
		auto idx = ifindex_of(ifname);
		if (!idx) {
			auto e = idx.error();
			if (e.err == ENODEV)
				e.detail += "; what xdpctl had on a removed interface goes with it at the next command (xdpctl repair)";
			return std::unexpected(e);
		}
		names.emplace_back(ifname, *idx);
	}
	std::optional<Session> s;
	if (path_exists(l->root)) {
		auto so = open_session(*l);
		if (!so)
			return std::unexpected(so.error());
		s.emplace(std::move(*so));
		if (auto st = converge(*s); !st)
			return std::unexpected(st.error());
	}
	// checked first, changed after: an error changes nothing
	std::vector<Detached> out;
	std::vector<std::string> foreign;
	for (const auto &[ifname, idx] : names) {
		auto att = xdp_attachment(idx);
		if (!att)
			return std::unexpected(detail::with_privilege_hint(att.error()));
		if (IfState *rec = s ? s->st.find_if(idx) : nullptr) {
			out.push_back({ifname, idx, prog_name(rec->prog_id)});
			continue;
		}
		if (!att->prog_id) {
			out.push_back({ifname, idx, "", DetachState::NotLoaded});
			continue;
		}
		if (auto dir = s ? foreign_pin_dir(*l, *att) : std::nullopt) {
			out.push_back({ifname, idx, prog_name(att->prog_id), DetachState::Unloaded,
				       "loaded by xdpctl in the namespace it came from"});
			foreign.push_back(*dir);
			continue;
		}
		return fail(ENOENT, "unload", ifname,
			    "its XDP program " + prog_name(att->prog_id) + " was not loaded by xdpctl in this namespace; " +
				    removal_hint(ifname, idx, *att, false));
	}
	if (!s)
		return out;
	std::set<int> unloaded;
	for (const auto &d : out) {
		if (d.state == DetachState::Unloaded)
			unloaded.insert(d.ifindex);
		std::erase_if(s->st.interfaces, [&](const auto &i) { return i.ifindex == d.ifindex; });
	}
	std::vector<Detached> removed;
	if (!keep_entries) {
		removed = drop_entries_of(s->st, unloaded);
	} else if (s->st.interfaces.empty()) { // the shared maps go with the last interface, and their entries
		s->st.rules.clear();
		s->st.ports.clear();
	}
	// one intent: a command killed after this write is finished by the next one (its converge
	// detaches what the record no longer has and deletes the entries no rule or port records)
	if (auto st = write_state(*l, s->st); !st)
		return std::unexpected(st.error());
	for (const auto &dir : foreign)
		remove_dir(dir, true); // under the RootLock, which covers every namespace of ROOT
	if (auto st = converge(*s, false); !st)
		return std::unexpected(st.error());
	if (auto st = finish_state(*s); !st)
		return std::unexpected(st.error());
	out.insert(out.begin(), s->notes.begin(), s->notes.end());
	out.insert(out.end(), removed.begin(), removed.end());
	return out;
}

namespace {
// For the verbs that only act on what a namespace has: privileges and ownership checked, then the
// namespace converged; nullopt when xdpctl has nothing in it.
Result<std::optional<Session>> converged_if_any(const char *verb, unsigned caps)
{
	if (auto st = require_privileges(verb, caps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	if (!path_exists(l->ns_dir()))
		return std::optional<Session>{};
	auto s = detail::open_converged(*l);
	if (!s)
		return std::unexpected(s.error());
	return std::optional<Session>(std::move(*s));
}
} // namespace

// The interfaces of this namespace that run a program whose link xdpctl pinned in another
// namespace (they moved here with it): detached, and that link's pins removed, as `unload IFNAME`
// does; the caller holds the RootLock (which covers every namespace of ROOT). Nothing else of the
// other namespace is touched, and nothing that lives in another namespace is detached.
Result<std::vector<Detached>> unload_moved_here(const Layout &l)
{
	std::vector<Detached> out;
	auto devs = list_netdevs();
	if (!devs)
		return std::unexpected(devs.error());
	for (const auto &d : *devs) {
		auto att = xdp_attachment(d.ifindex);
		if (!att)
			return std::unexpected(detail::with_privilege_hint(att.error()));
		if (!att->prog_id)
			continue;
		if (auto dir = foreign_pin_dir(l, *att)) {
			out.push_back({d.name, d.ifindex, prog_name(att->prog_id), DetachState::Unloaded,
				       "loaded by xdpctl in the namespace it came from"});
			remove_dir(*dir, true);
		}
	}
	return out;
}

Result<std::vector<Detached>> unload_all()
{
	auto so = converged_if_any("unload", kUnloadCaps);
	if (!so)
		return std::unexpected(so.error());
	std::vector<Detached> out;
	if (!*so) {
		// nothing of this namespace's own; interfaces may have moved here with xdpctl's links
		auto l = current_layout();
		if (!l)
			return std::unexpected(l.error());
		if (!path_exists(l->root))
			return out;
		auto lock = RootLock::acquire(*l);
		if (!lock)
			return std::unexpected(lock.error());
		return unload_moved_here(*l);
	}
	Session &s = **so;
	for (const auto &i : s.st.interfaces)
		out.push_back({i.name, i.ifindex, prog_name(i.prog_id)});
	s.st = DesiredState{s.st.netns, {}, {}, {}};
	if (auto st = write_state(s.l, s.st); !st)
		return std::unexpected(st.error());
	if (auto st = converge(s, false); !st)
		return std::unexpected(st.error());
	if (auto st = finish_state(s); !st)
		return std::unexpected(st.error());
	// moved links stay (their interface runs them in another namespace): reported once each
	std::erase_if(s.notes, [](const auto &n) { return n.state == DetachState::Moved; });
	for (const auto &dir : moved_dirs(s.l)) {
		Seen seen = see_link(dir + "/link", 0);
		s.notes.push_back({"", static_cast<int>(seen.li.ifindex), prog_name(seen.li.prog_id), DetachState::Moved});
	}
	out.insert(out.begin(), s.notes.begin(), s.notes.end());
	auto in = unload_moved_here(s.l);
	if (!in)
		return std::unexpected(in.error());
	out.insert(out.end(), in->begin(), in->end());
	return out;
}

Result<std::vector<Detached>> repair()
{
	auto so = converged_if_any("repair", kLoadCaps);
	if (!so)
		return std::unexpected(so.error());
	if (!*so)
		return std::vector<Detached>{};
	if (auto st = finish_state(**so); !st)
		return std::unexpected(st.error());
	return (*so)->notes;
}

} // namespace xdpctl
