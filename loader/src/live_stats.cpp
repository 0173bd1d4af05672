#include <bpf/bpf.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>

#include "loader_internal.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/live_stats.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/privileges.hpp"
#include "xdpctl/stats.h"
#include "xdpctl/status.hpp"

namespace xdpctl {

namespace {

// The program xdpctl attached to ifindex, from its pinned link (ROOT/ns<NS>/if<IFINDEX>/link)
// when that link is attached to the device (a link whose device went away reports ifindex 0):
// what `xdpctl status` calls owned. Read from the pins, so watching N interfaces costs N reads
// however many netdevs the namespace has.
std::optional<uint32_t> owned_prog(const Layout &l, int ifindex)
{
	auto li = detail::pinned_link_info(l, ifindex);
	if (!li || li->ifindex != static_cast<uint32_t>(ifindex))
		return std::nullopt;
	return li->prog_id;
}

// The per-action counters of xdpctl's program on ifindex, pinned when its object has an
// xdpctl_stats map (the collection's programs do; an object file may not): where they are read,
// NAME-new included (a `load --replace` killed between its swap and its renames, state.hpp).
bool has_stats_map(const Layout &l, int ifindex)
{
	const std::string pin = l.if_map_pin(ifindex, XDPCTL_STATS_MAP);
	return path_exists(pin) || path_exists(pin + kStagedSuffix);
}

// Whether the kernel counts programs' runs now (sysctl kernel.bpf_stats_enabled; a process
// holding BPF_ENABLE_STATS makes it read 1 too). Unreadable: false, as the kernel counts nothing.
bool bpf_stats_enabled()
{
	std::ifstream f("/proc/sys/kernel/bpf_stats_enabled");
	int v = 0;
	return f >> v && v != 0;
}

// The kernel's run count of w's program, while it is still the one attached to w's interface;
// ENOENT once it is not (unloaded or replaced: what sample() says of a counted interface then).
Result<RunCounters> run_counters(const Layout &l, const StatsReader::Watched &w, bool enabled)
{
	auto now = owned_prog(l, w.ifindex);
	Fd fd(now == w.prog_id ? bpf_prog_get_fd_by_id(w.prog_id) : -1);
	if (!fd)
		return fail(ENOENT, "interface", w.ifname, "xdpctl's program is no longer attached (unloaded or replaced)");
	bpf_prog_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &len))
		return fail(errno, "bpf_obj_get_info_by_fd", w.prog);
	return RunCounters{info.run_cnt, info.run_time_ns, enabled};
}

// A program loaded with --no-stats has counters that stay zero: false for it.
Result<bool> counting(uint32_t prog_id)
{
	auto c = counters_on(prog_id);
	if (!c)
		return std::unexpected(c.error());
	return c->value_or(true);
}

} // namespace

Result<StatsReader> StatsReader::open(const std::vector<std::string> &ifnames)
{
	if (auto st = require_privileges("stats", kReadCaps); !st)
		return std::unexpected(st.error());
	// the user-space backend is the one that reads the pins of xdpctl's programs
	auto m = ctl::ControlMap::create(BPF_CTRL_XDP_STATS, ctl::BackendChoice::User);
	if (!m)
		return std::unexpected(m.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	std::vector<Watched> ifs;
	for (const auto &name : ifnames) {
		auto idx = ifindex_of(name);
		if (!idx)
			return std::unexpected(idx.error());
		auto prog = owned_prog(*l, *idx);
		if (!prog)
			return fail(ENOENT, "interface", name,
				    "runs no program of xdpctl, so there are no counters to read (xdpctl status shows what runs)");
		bool counted = has_stats_map(*l, *idx);
		auto on = counted ? counting(*prog) : Result<bool>(true);
		if (!on)
			return std::unexpected(on.error());
		if (!*on)
			return fail(ENODATA, "interface", name,
				    "counters are off (loaded with --no-stats); reload it without --no-stats to count");
		if (std::none_of(ifs.begin(), ifs.end(), [&](const Watched &w) { return w.ifindex == *idx; }))
			ifs.push_back({*idx, name, prog_name(*prog), *prog, counted});
	}
	std::vector<std::string> off;
	if (ifnames.empty()) {
		for (int idx : detail::pinned_ifindexes(*l)) {
			auto prog = owned_prog(*l, idx);
			auto name = prog ? ifname_of(idx) : Result<std::string>(std::string());
			if (!prog || !name)
				continue;
			bool counted = has_stats_map(*l, idx);
			auto on = counted ? counting(*prog) : Result<bool>(true);
			if (!on)
				return std::unexpected(on.error());
			if (*on)
				ifs.push_back({idx, *name, prog_name(*prog), *prog, counted});
			else
				off.push_back(*name);
		}
		if (ifs.empty() && !off.empty())
			return fail(ENODATA, "interfaces", {},
				    "counters are off on every interface xdpctl attached to (loaded with --no-stats)");
		if (ifs.empty())
			return fail(ENOENT, "interfaces", {},
				    "no interface in this network namespace runs a program of xdpctl; load one first "
				    "(xdpctl load PROGRAM IFNAME)");
	}
	return StatsReader(std::move(*m), std::move(ifs), std::move(off));
}

Result<StatsSample> StatsReader::sample()
{
	StatsSample s;
	// for the interfaces without xdpctl counters: the pins that say what is attached, and the sysctl
	std::optional<Layout> l;
	bool enabled = false;
	if (std::any_of(ifs_.begin(), ifs_.end(), [](const Watched &w) { return !w.counted; })) {
		auto cur = current_layout();
		if (!cur)
			return std::unexpected(cur.error());
		l = std::move(*cur);
		enabled = bpf_stats_enabled();
	}
	for (const auto &w : ifs_) {
		auto v = map_.lookup_as<struct bpf_ctrl_xdp_stats>(static_cast<uint32_t>(w.ifindex));
		if (!v && v.error().err == ENOENT)
			return fail(ENODEV, "interface", w.ifname, "was removed");
		if (!v)
			return std::unexpected(v.error());
		IfCounters c{w.ifindex, w.ifname, w.prog};
		if (!w.counted) {
			auto r = run_counters(*l, w, enabled);
			if (!r)
				return std::unexpected(r.error());
			c.run = *r;
		} else if (!(v->avail & BPF_CTRL_STATS_XDP_ACTIONS)) {
			return fail(ENOENT, "interface", w.ifname, "xdpctl's program is no longer attached (unloaded or replaced)");
		} else {
			for (size_t a = 0; a < c.xdp.size(); a++)
				c.xdp[a] = {v->xdp[a].packets, v->xdp[a].bytes};
		}
		if (v->avail & BPF_CTRL_STATS_LINK)
			c.link = LinkCounters{v->rx_packets, v->rx_bytes, v->rx_dropped,
					      v->tx_packets, v->tx_bytes, v->tx_dropped};
		if (v->avail & BPF_CTRL_STATS_XDP_ERRORS)
			c.monitor = MonitorCounters{v->xdp_exceptions, v->xdp_redirect_errors, v->xdp_devmap_xmit_sent,
						    v->xdp_devmap_xmit_drops};
		s.interfaces.push_back(std::move(c));
	}
	s.at = std::chrono::steady_clock::now();
	return s;
}

std::string si(double v)
{
	double a = std::fabs(v);
	if (a >= 1e9)
		return fmt::format("{:.2f}G", v / 1e9);
	if (a >= 1e6)
		return fmt::format("{:.2f}M", v / 1e6);
	if (a >= 1e3)
		return fmt::format("{:.2f}k", v / 1e3);
	if (a == std::floor(a))
		return fmt::format("{:.0f}", v);
	return fmt::format("{:.1f}", v);
}

} // namespace xdpctl
