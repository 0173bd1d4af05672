#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "loader_internal.hpp"
#include "xdpctl/compat.h"
#include "xdpctl/loader.hpp"
#include "xdpctl/privileges.hpp"
#include "xdpctl/stats.h"

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

} // namespace detail

namespace {

using detail::LinkInfo;

// A replaced program's per-interface maps are pinned as NAME-new first and renamed over NAME
// once the link runs the new program.
constexpr const char *kStagedSuffix = "-new";

struct Target {
	std::string ifname;
	int ifindex = 0;
	XdpAttachment att;
	std::optional<LinkInfo> ours; // xdpctl's link, holding the attached program
};

// Removes ROOT/ns<NS>/if<IFINDEX>: detaches the link (still attached when the device exists) and
// unlinks every pin in the directory.
void remove_if_dir(const Layout &l, int ifindex)
{
	std::string dir = l.if_dir(ifindex);
	Fd link(bpf_obj_get(l.link_pin(ifindex).c_str()));
	if (link)
		(void)bpf_link_detach(link.get());
	for (const auto &n : list_dir(dir))
		::unlink((dir + "/" + n).c_str());
	::rmdir(dir.c_str());
}


// Once no interface of the namespace uses them, the shared maps and the directories go.
void remove_unused_ns(const Layout &l)
{
	if (!detail::pinned_ifindexes(l).empty())
		return;
	for (const auto &n : list_dir(l.maps_dir()))
		::unlink((l.maps_dir() + "/" + n).c_str());
	::rmdir(l.maps_dir().c_str());
	::rmdir(l.ns_dir().c_str()); // stays while the monitor has pins in it
}

Result<Target> inspect(const Layout &l, const std::string &ifname)
{
	auto idx = ifindex_of(ifname);
	if (!idx)
		return std::unexpected(idx.error());
	auto att = xdp_attachment(*idx);
	if (!att)
		return std::unexpected(detail::with_privilege_hint(att.error()));
	Target t{ifname, *idx, *att, std::nullopt};
	if (path_exists(l.link_pin(*idx))) {
		auto li = detail::pinned_link_info(l, *idx);
		if (li && li->ifindex == static_cast<uint32_t>(*idx) && li->prog_id == att->prog_id && att->prog_id)
			t.ours = *li;
	}
	return t;
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

} // namespace

Result<std::vector<Attached>> load(const LoadRequest &req)
{
	if (req.interfaces.empty())
		return fail(EINVAL, "load", req.program.name_or_path, "no interface given");
	if (auto st = require_privileges("load", kLoadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = ensure_bpffs(*l); !st)
		return std::unexpected(detail::with_privilege_hint(st.error()));
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());

	// Everything is checked before anything is made: the program first (it can be opened
	// without touching the system), then the interfaces. The opened object serves the first
	// interface; each further one opens its own instance.
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
	std::vector<Target> targets;
	for (const auto &ifname : req.interfaces) {
		if (std::any_of(targets.begin(), targets.end(), [&](const auto &t) { return t.ifname == ifname; }))
			return fail(EINVAL, "load", ifname, "interface given twice");
		auto t = inspect(*l, ifname);
		if (!t)
			return std::unexpected(t.error());
		if (t->att.prog_id && !(req.replace && t->ours)) {
			std::string what = "already has XDP program " + prog_name(t->att.prog_id) + " (id " +
					   std::to_string(t->att.prog_id) + ")";
			if (t->ours)
				return fail(EEXIST, "load", ifname,
					    what + " loaded by xdpctl; unload it first (xdpctl unload " + ifname +
						    ") or swap it atomically with --replace");
			return fail(EEXIST, "load", ifname,
				    what + " not loaded by xdpctl; remove it first (ip link set dev " + ifname + " xdp off)");
		}
		targets.push_back(std::move(*t));
	}
	// Pins left by an interface that was removed while attached, whose ifindex came back.
	for (const auto &t : targets)
		if (!t.ours && path_exists(l->if_dir(t.ifindex)))
			remove_if_dir(*l, t.ifindex);

	// destroyed after txn: on failure, unpinned first, then detached
	Attacher attacher;
	std::vector<std::pair<size_t, bool>> attached_at; // per attacher job: its out[] index, device-bound
	std::vector<std::pair<std::string, std::string>> renames; // replace: new pins -> final names
	std::vector<std::string> stale_pins;                       // replace: old maps the new program lacks
	std::vector<Attached> out;
	out.reserve(targets.size());
	Txn txn;
	if (auto st = txn.mkdir(l->ns_dir()); !st)
		return std::unexpected(st.error());

	for (const auto &t : targets) {
		Result<ResolvedProgram> rp = checked ? Result<ResolvedProgram>(std::move(*checked))
						     : resolve_program(req.program, ProgKind::Xdp);
		checked.reset();
		if (!rp)
			return std::unexpected(rp.error());
		bool bound = req.dev_bound || rp->dev_bound;
		if (bound && req.mode == AttachMode::Skb)
			return fail(EINVAL, "load", t.ifname, "a device-bound program attaches in native mode only; drop -m skb");
		if (!req.counters) {
			const uint8_t off = 0;
			if (auto st = rp->obj.set_rodata(XDPCTL_STATS_SWITCH, &off, sizeof(off)); !st)
				return std::unexpected(st.error());
		}
		if (auto st = detail::load_instance(*rp, *l, txn, bound ? t.ifindex : 0); !st)
			return std::unexpected(st.error());
		int prog_fd = bpf_program__fd(rp->prog);
		bpf_prog_info pinfo{};
		uint32_t plen = sizeof(pinfo);
		if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &plen))
			return fail(errno, "bpf_obj_get_info_by_fd", rp->name);
		Attached a{t.ifname, t.ifindex, rp->name, pinfo.id, 0, req.mode, false, l->link_pin(t.ifindex), req.counters};

		if (t.ours) {
			// Atomic replace: the link keeps the device's XDP hook; only its program changes.
			for (const auto &m : rp->if_maps) {
				bpf_map *bm = rp->obj.map(m);
				if (!bm)
					continue;
				std::string fin = l->if_map_pin(t.ifindex, m);
				// bpffs refuses every name with a dot in it (EPERM); a map name has no '-'
				if (auto st = txn.pin(bpf_map__fd(bm), fin + kStagedSuffix); !st)
					return std::unexpected(st.error());
				renames.emplace_back(fin + kStagedSuffix, fin);
			}
			for (const auto &n : list_dir(l->if_dir(t.ifindex)))
				if (n != "link" && std::find(rp->if_maps.begin(), rp->if_maps.end(), n) == rp->if_maps.end() &&
				    !n.ends_with(kStagedSuffix))
					stale_pins.push_back(l->if_dir(t.ifindex) + "/" + n);
			auto link = std::make_shared<Fd>(bpf_obj_get(l->link_pin(t.ifindex).c_str()));
			auto old = std::make_shared<Fd>(bpf_prog_get_fd_by_id(t.ours->prog_id));
			if (!*link || !*old)
				return fail(errno, "open", l->link_pin(t.ifindex));
			LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(old->get()));
			if (bpf_link_update(link->get(), prog_fd, &uo))
				return fail(errno, "bpf_link_update", t.ifname,
					    errno == EPERM ? "the program changed meanwhile; retry" : "");
			txn.on_undo([link, old] { (void)bpf_link_update(link->get(), old->get(), nullptr); });
			a.link_id = t.ours->id;
			a.replaced = true;
			auto li = detail::link_info(link->get());
			if (li)
				a.link_id = li->id;
		} else {
			if (auto st = txn.mkdir(l->if_dir(t.ifindex)); !st)
				return std::unexpected(st.error());
			for (const auto &m : rp->if_maps) {
				bpf_map *bm = rp->obj.map(m);
				if (bm)
					if (auto st = txn.pin(bpf_map__fd(bm), l->if_map_pin(t.ifindex, m)); !st)
						return std::unexpected(st.error());
			}
			if (auto st = attacher.add(prog_fd, t.ifindex,
						   req.mode == AttachMode::Skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
			    !st)
				return std::unexpected(st.error());
			attached_at.emplace_back(out.size(), bound);
		}
		out.push_back(std::move(a));
	}
	auto &jobs = attacher.finish();
	for (size_t i = 0; i < jobs.size(); i++) {
		auto [at, bound] = attached_at[i];
		Attached &a = out[at];
		if (!jobs[i].link)
			return std::unexpected(attach_error(jobs[i].err, targets[at], req.mode, bound));
		if (auto st = txn.pin(jobs[i].link.get(), a.link_pin); !st)
			return std::unexpected(st.error());
		if (auto li = detail::link_info(jobs[i].link.get()))
			a.link_id = li->id;
	}
	txn.commit();
	for (const auto &[from, to] : renames)
		if (::rename(from.c_str(), to.c_str()))
			::unlink(from.c_str());
	for (const auto &p : stale_pins)
		::unlink(p.c_str());
	return out;
}

Result<std::vector<Detached>> unload(const std::vector<std::string> &interfaces)
{
	if (auto st = require_privileges("unload", kUnloadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	std::vector<Target> targets;
	for (const auto &ifname : interfaces) {
		auto t = inspect(*l, ifname);
		if (!t) {
			auto e = t.error();
			if (e.err == ENODEV)
				e.detail += "; if it was removed, `xdpctl unload --all` cleans up what was left";
			return std::unexpected(e);
		}
		if (!t->ours) {
			if (path_exists(l->link_pin(t->ifindex)) && !t->att.prog_id) {
				targets.push_back(std::move(*t)); // stale pins: the link was detached
				continue;
			}
			if (t->att.prog_id)
				return fail(ENOENT, "unload", ifname,
					    "its XDP program " + prog_name(t->att.prog_id) +
						    " was not loaded by xdpctl in this namespace; remove it with `ip link set dev " +
						    ifname + " xdp off`");
			return fail(ENOENT, "unload", ifname, "has no XDP program; nothing to unload");
		}
		targets.push_back(std::move(*t));
	}
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());
	std::vector<Detached> out;
	for (const auto &t : targets) {
		out.push_back({t.ifname, t.ifindex, prog_name(t.att.prog_id)});
		remove_if_dir(*l, t.ifindex);
	}
	remove_unused_ns(*l);
	return out;
}

Result<std::vector<Detached>> unload_all()
{
	if (auto st = require_privileges("unload", kUnloadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	std::vector<Detached> out;
	if (!path_exists(l->ns_dir()))
		return out;
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());
	for (int idx : detail::pinned_ifindexes(*l)) {
		Detached d{"", idx, ""};
		if (auto li = detail::pinned_link_info(*l, idx); li && li->ifindex) {
			if (auto n = ifname_of(idx))
				d.ifname = *n;
			d.prog = prog_name(li->prog_id);
		}
		remove_if_dir(*l, idx);
		out.push_back(std::move(d));
	}
	remove_unused_ns(*l);
	return out;
}

} // namespace xdpctl
