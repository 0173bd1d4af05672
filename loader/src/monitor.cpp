#include "xdpctl/monitor.hpp"
#include "xdpctl/state.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>

#include "loader_internal.hpp"
#include "xdp_monitor.skel.h"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/monitor.h"
#include "xdpctl/privileges.hpp"
#include "xdpctl/skeleton.hpp"

namespace xdpctl
{

namespace
{

constexpr std::string_view kTpBtf = "tp_btf/";
constexpr std::string_view kLinkPrefix = "link_";
constexpr const char *kMapNames[] = {"xdpctl_mon_exc", "xdpctl_mon_rerr", "xdpctl_mon_xmit"};

int possible_cpus()
{
	int n = libbpf_num_possible_cpus();
	return n > 0 ? n : 1;
}

// Calls fn(key, per_cpu_values) for every key of a per-CPU hash whose values are V.
template <class K, class V, class Fn> Status for_each_percpu(int fd, const char *name, Fn fn)
{
	std::vector<V> vals(static_cast<size_t>(possible_cpus()));
	K key{}, next{};
	const K *prev = nullptr;
	for (;;) {
		if (bpf_map_get_next_key(fd, prev, &next)) {
			if (errno == ENOENT)
				return {};
			return fail(errno, "bpf_map_get_next_key", name);
		}
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals.data())) {
			if (errno == ENOENT) // deleted between the two calls
				continue;
			return fail(errno, "bpf_map_lookup_elem", name);
		}
		fn(key, vals);
	}
}

// A tp_btf program whose tracepoint is missing would fail the whole load: looks each one up in
// the kernel's BTF (tracepoint NAME has the typedef btf_trace_NAME), switches the missing ones'
// programs off (autoload) and returns the tracepoints there are.
Result<std::vector<std::string>> select_tracepoints(struct bpf_object *obj)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return fail(errno, "btf__load_vmlinux_btf", "/sys/kernel/btf/vmlinux");
	std::vector<std::string> out;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
	{
		std::string_view sec = bpf_program__section_name(prog);
		if (!sec.starts_with(kTpBtf))
			continue;
		std::string tp(sec.substr(kTpBtf.size()));
		bool have = btf__find_by_name_kind(vmlinux, ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF) > 0;
		bpf_program__set_autoload(prog, have);
		if (have)
			out.push_back(tp);
	}
	btf__free(vmlinux);
	if (out.empty())
		return fail(ENOENT, "start", "xdp_monitor", "the kernel has none of the xdp: tracepoints");
	return out;
}

// The tracepoints a monitor started now would attach (the object opened, not loaded).
Result<std::vector<std::string>> kernel_tracepoints()
{
	auto skel = open_skel<xdp_monitor>("xdp_monitor");
	if (!skel)
		return std::unexpected(skel.error());
	return select_tracepoints((*skel)->obj);
}

// What is pinned in a monitor directory: nothing, a whole monitor (its three maps and the link of
// every tracepoint this kernel has), or part of one: what a `monitor start` or `monitor stop`
// killed midway leaves (pins are made and removed one by one). entries: the directory's names.
// Without the tracepoints (the kernel's BTF unreadable), the three maps and a link make it whole.
struct Pinned {
	MonitorPins state = MonitorPins::None;
	std::vector<std::string> entries;
	std::vector<std::string> tracepoints; // of its links, sorted
};

Pinned look(const std::string &dir, const std::optional<std::vector<std::string>> &expected)
{
	Pinned p;
	p.entries = list_dir(dir);
	std::ranges::sort(p.entries);
	if (p.entries.empty())
		return p;
	for (const auto &n : p.entries)
		if (std::string_view(n).starts_with(kLinkPrefix))
			p.tracepoints.push_back(n.substr(kLinkPrefix.size()));
	std::vector<std::string> whole(std::begin(kMapNames), std::end(kMapNames));
	if (expected)
		for (const auto &tp : *expected)
			whole.push_back(std::string(kLinkPrefix) + tp);
	std::ranges::sort(whole);
	bool complete = expected ? p.entries == whole
				 : !p.tracepoints.empty() && std::ranges::all_of(kMapNames, [&](const char *m) {
					   return std::ranges::find(p.entries, m) != p.entries.end();
				   });
	p.state = complete ? MonitorPins::Running : MonitorPins::Partial;
	return p;
}

std::optional<std::vector<std::string>> expected_tracepoints()
{
	auto tps = kernel_tracepoints();
	return tps ? std::optional(std::move(*tps)) : std::nullopt;
}

// Removes every entry of a monitor directory and the directory (ns_dir stays while anything else
// of the namespace is pinned in it). The links' tracepoints detach with their last pin.
Status remove_monitor(const Layout &l, const std::vector<std::string> &entries)
{
	const std::string dir = l.monitor_dir();
	for (const auto &n : entries) {
		std::string path = dir + "/" + n;
		if (unlink(path.c_str()) && errno != ENOENT)
			return fail(errno, "unlink", path);
		step_boundary(); // a stop killed here leaves the rest: the next start or stop removes it
	}
	if (rmdir(dir.c_str()) && errno != ENOENT)
		return fail(errno, "rmdir", dir);
	rmdir(l.ns_dir().c_str()); // stays while interfaces have pins in it
	return {};
}

// The verbs that read what is pinned: privileges, then the layout, checked (bpffs.hpp).
Result<Layout> checked_layout(const char *what, unsigned caps)
{
	if (auto st = require_privileges(what, caps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	return l;
}

constexpr const char *kHalfRemoved =
    "the monitor of this namespace is half removed (an interrupted `monitor start` or `monitor stop` left part "
    "of its pins): `xdpctl monitor stop` finishes removing it, `xdpctl monitor start` starts it again";

} // namespace

uint64_t MonitorCounts::exceptions_of(uint32_t ifindex, uint32_t action) const
{
	for (const auto &e : exceptions)
		if (e.ifindex == ifindex && e.action == action)
			return e.count;
	return 0;
}

uint64_t MonitorCounts::redirect_errors_of(uint32_t ifindex, uint32_t err) const
{
	for (const auto &e : redirect_errors)
		if (e.ifindex == ifindex && e.err == err)
			return e.count;
	return 0;
}

MonXmit MonitorCounts::xmit_of(uint32_t from_ifindex, uint32_t to_ifindex) const
{
	for (const auto &x : xmit)
		if (x.from_ifindex == from_ifindex && x.to_ifindex == to_ifindex)
			return x;
	return MonXmit{from_ifindex, to_ifindex};
}

Result<MonitorCounts> read_monitor_maps(int exc_fd, int rerr_fd, int xmit_fd)
{
	MonitorCounts c;
	auto sum = [](const std::vector<uint64_t> &v) {
		uint64_t s = 0;
		for (auto n : v)
			s += n;
		return s;
	};
	auto st = for_each_percpu<xdpctl_mon_key, uint64_t>(
	    exc_fd, "xdpctl_mon_exc", [&](const xdpctl_mon_key &k, const std::vector<uint64_t> &v) {
		    c.exceptions.push_back({k.ifindex, k.code, sum(v)});
	    });
	if (!st)
		return std::unexpected(st.error());
	st = for_each_percpu<xdpctl_mon_key, uint64_t>(
	    rerr_fd, "xdpctl_mon_rerr", [&](const xdpctl_mon_key &k, const std::vector<uint64_t> &v) {
		    c.redirect_errors.push_back({k.ifindex, k.code, sum(v)});
	    });
	if (!st)
		return std::unexpected(st.error());
	st = for_each_percpu<xdpctl_mon_xmit_key, xdpctl_mon_xmit>(
	    xmit_fd, "xdpctl_mon_xmit",
	    [&](const xdpctl_mon_xmit_key &k, const std::vector<xdpctl_mon_xmit> &v) {
		    MonXmit x{k.from_ifindex, k.to_ifindex};
		    for (const auto &p : v) {
			    x.sent += p.sent;
			    x.drops += p.drops;
			    x.errors += p.errors;
		    }
		    c.xmit.push_back(x);
	    });
	if (!st)
		return std::unexpected(st.error());

	std::ranges::sort(c.exceptions, {}, [](const auto &e) { return std::pair(e.ifindex, e.action); });
	std::ranges::sort(c.redirect_errors, {}, [](const auto &e) { return std::pair(e.ifindex, e.err); });
	std::ranges::sort(c.xmit, {}, [](const auto &x) { return std::pair(x.from_ifindex, x.to_ifindex); });
	return c;
}

void Monitor::Destroy::operator()(xdp_monitor *s) const noexcept
{
	xdp_monitor::destroy(s);
}

Monitor::Monitor(Monitor &&) noexcept = default;
Monitor &Monitor::operator=(Monitor &&) noexcept = default;
Monitor::~Monitor() = default;

Result<Monitor> Monitor::start(uint64_t netns_ino)
{
	if (netns_ino > UINT32_MAX) // ns.inum is an unsigned int in the kernel
		return fail(EINVAL, "start", "xdp_monitor", "netns inode does not fit 32 bits");
	auto skel = open_skel<xdp_monitor>("xdp_monitor");
	if (!skel)
		return std::unexpected(skel.error());
	(*skel)->rodata->netns_ino = static_cast<uint32_t>(netns_ino);

	Monitor m;
	auto tps = select_tracepoints((*skel)->obj);
	if (!tps)
		return std::unexpected(tps.error());
	m.tracepoints_ = std::move(*tps);

	if (auto st = load_skel(*skel, "xdp_monitor"); !st)
		return std::unexpected(st.error());
	if (int err = xdp_monitor::attach(skel->get()))
		return fail(-err, "attach", "xdp_monitor");
	m.skel_.reset(skel->release());
	return m;
}

Result<MonitorCounts> Monitor::read() const
{
	return read_monitor_maps(exc_map_fd(), rerr_map_fd(), xmit_map_fd());
}

Status Monitor::pin(const std::string &dir) const
{
	if (path_exists(dir + "/" + kMapNames[0]))
		return fail(EEXIST, "start", "xdp_monitor", "one is already pinned in this namespace (xdpctl monitor stop removes it)");
	Txn txn;
	if (auto st = txn.mkdir(dir); !st)
		return st;
	const int fds[] = {exc_map_fd(), rerr_map_fd(), xmit_map_fd()};
	for (size_t i = 0; i < std::size(kMapNames); i++) {
		if (auto st = txn.pin(fds[i], dir + "/" + kMapNames[i]); !st)
			return st;
		step_boundary(); // a start killed here leaves a half-pinned monitor: the next start replaces it
	}
	const struct bpf_object_skeleton *s = skel_->skeleton;
	for (int i = 0; i < s->prog_cnt; i++) {
		const struct bpf_link *link = *s->progs[i].link;
		if (!link) // its tracepoint is missing on this kernel
			continue;
		std::string_view sec = bpf_program__section_name(*s->progs[i].prog);
		std::string path = dir + "/" + std::string(kLinkPrefix) + std::string(sec.substr(kTpBtf.size()));
		if (auto st = txn.pin(bpf_link__fd(link), path); !st)
			return st;
		step_boundary();
	}
	txn.commit();
	return {};
}

Result<MonitorStart> start_pinned_monitor()
{
	if (auto st = require_privileges("monitor start", kMonitorCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	Txn made; // the levels of ROOT this start creates: a start that fails takes them back
	if (auto st = ensure_bpffs(*l, &made); !st)
		return std::unexpected(st.error());
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());
	// destroyed before the lock: ROOT's new levels go last, under it, when this start fails
	Txn root_levels;
	root_levels.take(made);
	// a monitor a deleted namespace left under the inode this one got counts this namespace's
	// events as its own: removed (said) before anything is found running
	auto dead = detail::drop_dead_namespace(*l);
	if (!dead)
		return std::unexpected(dead.error());
	detail::report_convergence(*dead);
	auto tps = kernel_tracepoints();
	if (!tps)
		return std::unexpected(tps.error());
	MonitorStart out;
	Pinned p = look(l->monitor_dir(), *tps);
	if (p.state == MonitorPins::Running) {
		// what was asked is in place: say so, like `ip link set up` on an up link
		out.tracepoints = *tps;
		out.already = true;
		root_levels.commit();
		return out;
	}
	auto m = Monitor::start(l->netns);
	if (!m)
		return std::unexpected(m.error());
	if (p.state == MonitorPins::Partial) {
		// the newer intent wins: what an interrupted start or stop left goes, a whole one is pinned
		if (auto st = remove_monitor(*l, p.entries); !st)
			return std::unexpected(st.error());
		out.removed = p.entries;
	}
	Txn txn;
	if (auto st = txn.mkdir(l->ns_dir()); !st)
		return std::unexpected(st.error());
	if (auto st = m->pin(l->monitor_dir()); !st)
		return std::unexpected(st.error());
	txn.commit();
	root_levels.commit();
	out.tracepoints = m->tracepoints();
	return out;
}

Result<MonitorPins> pinned_monitor_state()
{
	auto l = checked_layout("monitor show", kReadCaps);
	if (!l)
		return std::unexpected(l.error());
	return look(l->monitor_dir(), expected_tracepoints()).state;
}

Result<PinnedMonitor> read_pinned_monitor()
{
	auto l = checked_layout("monitor show", kReadCaps);
	if (!l)
		return std::unexpected(l.error());
	const std::string dir = l->monitor_dir();
	auto expected = expected_tracepoints();
	Pinned p = look(dir, expected);
	if (p.state == MonitorPins::Partial) {
		// a start or stop may be pinning or unpinning right now: look again once it is done
		auto lock = RootLock::acquire(*l);
		if (!lock)
			return std::unexpected(lock.error());
		p = look(dir, expected);
	}
	if (p.state == MonitorPins::None)
		return fail(ENOENT, "show", "xdp_monitor", "no monitor runs in this namespace (xdpctl monitor start)");
	if (p.state == MonitorPins::Partial)
		return fail(ENOENT, "show", "xdp_monitor", kHalfRemoved);
	Fd fds[std::size(kMapNames)];
	for (size_t i = 0; i < std::size(kMapNames); i++) {
		std::string path = dir + "/" + kMapNames[i];
		fds[i] = Fd(bpf_obj_get(path.c_str()));
		if (!fds[i])
			return fail(errno, "open", path);
	}
	auto counts = read_monitor_maps(fds[0].get(), fds[1].get(), fds[2].get());
	if (!counts)
		return std::unexpected(counts.error());
	return PinnedMonitor{std::move(p.tracepoints), std::move(*counts)};
}

Result<MonitorStop> stop_pinned_monitor()
{
	auto l = checked_layout("monitor stop", kMonitorStopCaps);
	if (!l)
		return std::unexpected(l.error());
	MonitorStop out;
	if (!path_exists(l->root))
		return out; // nothing of xdpctl's at all
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());
	// a deleted namespace's monitor under the inode this one got is not this one's to stop
	auto dead = detail::drop_dead_namespace(*l);
	if (!dead)
		return std::unexpected(dead.error());
	detail::report_convergence(*dead);
	Pinned p = look(l->monitor_dir(), expected_tracepoints());
	if (p.state == MonitorPins::None && !path_exists(l->monitor_dir()))
		return out; // what was asked is in place
	if (auto st = remove_monitor(*l, p.entries); !st)
		return std::unexpected(st.error());
	out.was_running = p.state == MonitorPins::Running;
	out.half_removed = p.state == MonitorPins::Partial;
	return out;
}

int Monitor::exc_map_fd() const
{
	return bpf_map__fd(skel_->maps.xdpctl_mon_exc);
}

int Monitor::rerr_map_fd() const
{
	return bpf_map__fd(skel_->maps.xdpctl_mon_rerr);
}

int Monitor::xmit_map_fd() const
{
	return bpf_map__fd(skel_->maps.xdpctl_mon_xmit);
}

} // namespace xdpctl
