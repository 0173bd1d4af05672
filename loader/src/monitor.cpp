#include "xdpctl/monitor.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

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

	// A tp_btf program whose tracepoint is missing would fail the whole load: look each one
	// up in the kernel's BTF (tracepoint NAME has the typedef btf_trace_NAME) and skip it.
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return fail(errno, "btf__load_vmlinux_btf", "/sys/kernel/btf/vmlinux");
	Monitor m;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, (*skel)->obj)
	{
		std::string_view sec = bpf_program__section_name(prog);
		if (!sec.starts_with(kTpBtf))
			continue;
		std::string tp(sec.substr(kTpBtf.size()));
		bool have =
		    btf__find_by_name_kind(vmlinux, ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF) > 0;
		bpf_program__set_autoload(prog, have);
		if (have)
			m.tracepoints_.push_back(tp);
	}
	btf__free(vmlinux);
	if (m.tracepoints_.empty())
		return fail(ENOENT, "start", "xdp_monitor", "the kernel has none of the xdp: tracepoints");

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
	for (size_t i = 0; i < std::size(kMapNames); i++)
		if (auto st = txn.pin(fds[i], dir + "/" + kMapNames[i]); !st)
			return st;
	const struct bpf_object_skeleton *s = skel_->skeleton;
	for (int i = 0; i < s->prog_cnt; i++) {
		const struct bpf_link *link = *s->progs[i].link;
		if (!link) // its tracepoint is missing on this kernel
			continue;
		std::string_view sec = bpf_program__section_name(*s->progs[i].prog);
		std::string path = dir + "/" + std::string(kLinkPrefix) + std::string(sec.substr(kTpBtf.size()));
		if (auto st = txn.pin(bpf_link__fd(link), path); !st)
			return st;
	}
	txn.commit();
	return {};
}

Result<std::vector<std::string>> start_pinned_monitor()
{
	if (auto st = require_privileges("monitor start", kMonitorCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = ensure_bpffs(*l); !st)
		return std::unexpected(st.error());
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());
	auto m = Monitor::start(l->netns);
	if (!m)
		return std::unexpected(m.error());
	Txn txn;
	if (auto st = txn.mkdir(l->ns_dir()); !st)
		return std::unexpected(st.error());
	if (auto st = m->pin(l->monitor_dir()); !st)
		return std::unexpected(st.error());
	txn.commit();
	return m->tracepoints();
}

Result<PinnedMonitor> read_pinned_monitor()
{
	if (auto st = require_privileges("monitor show", kReadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	const std::string dir = l->monitor_dir();
	if (!path_exists(dir + "/" + kMapNames[0]))
		return fail(ENOENT, "show", "xdp_monitor", "no monitor runs in this namespace (xdpctl monitor start)");
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
	PinnedMonitor m{{}, std::move(*counts)};
	for (const auto &n : list_dir(dir))
		if (std::string_view(n).starts_with(kLinkPrefix))
			m.tracepoints.push_back(n.substr(kLinkPrefix.size()));
	std::ranges::sort(m.tracepoints);
	return m;
}

Status stop_pinned_monitor()
{
	if (auto st = require_privileges("monitor stop", kMonitorStopCaps); !st)
		return st;
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return st;
	const std::string dir = l->monitor_dir();
	if (!path_exists(dir + "/" + kMapNames[0]))
		return fail(ENOENT, "stop", "xdp_monitor", "no monitor runs in this namespace");
	auto lock = RootLock::acquire(*l);
	if (!lock)
		return std::unexpected(lock.error());
	for (const auto &n : list_dir(dir)) {
		std::string path = dir + "/" + n;
		if (unlink(path.c_str()))
			return fail(errno, "unlink", path);
	}
	if (rmdir(dir.c_str()))
		return fail(errno, "rmdir", dir);
	rmdir(l->ns_dir().c_str()); // stays while interfaces have pins in it
	return {};
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
