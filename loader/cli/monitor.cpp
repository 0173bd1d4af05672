// xdpctl monitor start|show|stop: the tracepoint monitor (bpf/xdp_monitor.bpf.c) for this network
// namespace, pinned so that it counts XDP errors with no process running. `xdpctl ctl stats`
// reads the same pins into XDP_STATS' xdp_exceptions / xdp_redirect_errors / devmap xmit fields.
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cstring>

#include "cli.hpp"
#include "xdpctl/monitor.hpp"
#include "xdpctl/netdev.hpp"

namespace cli {

namespace {

std::string ifname_or_index(uint32_t ifindex)
{
	auto n = xdpctl::ifname_of(static_cast<int>(ifindex));
	return n ? *n : "ifindex " + std::to_string(ifindex);
}

std::string action_name(uint32_t act)
{
	static const char *names[] = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};
	return act < std::size(names) ? names[act] : "invalid verdict " + std::to_string(act);
}

std::string errno_name(uint32_t err)
{
	const char *n = strerrorname_np(static_cast<int>(err));
	return n ? n : "errno " + std::to_string(err);
}

int start(const Globals &g)
{
	auto r = xdpctl::start_pinned_monitor();
	if (!r)
		return runtime_error(g, "monitor", r.error());
	const auto &tps = r->tracepoints;
	if (g.json) {
		print_json({{"tracepoints", tps}, {"already", r->already}, {"removed", r->removed}});
		return kExitOk;
	}
	if (!r->removed.empty())
		fmt::print("removed {} pin(s) of a half-removed monitor (an interrupted monitor start or stop): {}\n",
			   r->removed.size(), fmt::join(r->removed, ", "));
	fmt::print("monitor {} on {} tracepoint(s): {}\n", r->already ? "already running" : "started", tps.size(),
		   fmt::join(tps, ", "));
	return kExitOk;
}

int stop(const Globals &g)
{
	auto r = xdpctl::stop_pinned_monitor();
	if (!r)
		return runtime_error(g, "monitor", r.error());
	if (g.json)
		print_json({{"stopped", r->was_running || r->half_removed}, {"half_removed", r->half_removed}});
	else if (r->half_removed)
		fmt::print("monitor stopped: removed the pins a half-removed monitor had left (an interrupted monitor start or stop)\n");
	else if (r->was_running)
		fmt::print("monitor stopped\n");
	else
		fmt::print("monitor not running: nothing to stop\n");
	return kExitOk;
}

int show(const Globals &g)
{
	auto m = xdpctl::read_pinned_monitor();
	if (!m)
		return runtime_error(g, "monitor", m.error());
	const auto &c = m->counts;
	if (g.json) {
		nlohmann::json j{{"tracepoints", m->tracepoints}};
		j["exceptions"] = nlohmann::json::array();
		for (const auto &e : c.exceptions)
			j["exceptions"].push_back({{"ifindex", e.ifindex}, {"ifname", ifname_or_index(e.ifindex)},
						   {"action", e.action}, {"count", e.count}});
		j["redirect_errors"] = nlohmann::json::array();
		for (const auto &e : c.redirect_errors)
			j["redirect_errors"].push_back({{"ifindex", e.ifindex}, {"ifname", ifname_or_index(e.ifindex)},
							{"errno", e.err}, {"error", errno_name(e.err)}, {"count", e.count}});
		j["devmap_xmit"] = nlohmann::json::array();
		for (const auto &x : c.xmit)
			j["devmap_xmit"].push_back({{"from_ifindex", x.from_ifindex}, {"to_ifindex", x.to_ifindex},
						    {"sent", x.sent}, {"drops", x.drops}, {"errors", x.errors}});
		print_json(j);
		return kExitOk;
	}
	fmt::print("tracepoints: {}\n", fmt::join(m->tracepoints, ", "));
	fmt::print("\nexceptions\n");
	if (c.exceptions.empty())
		fmt::print("  none\n");
	for (const auto &e : c.exceptions)
		fmt::print("  {:<16} {:<20} {:>12}\n", ifname_or_index(e.ifindex), action_name(e.action), e.count);
	fmt::print("\nredirect errors\n");
	if (c.redirect_errors.empty())
		fmt::print("  none\n");
	for (const auto &e : c.redirect_errors)
		fmt::print("  {:<16} {:<20} {:>12}\n", ifname_or_index(e.ifindex), errno_name(e.err), e.count);
	fmt::print("\ndevmap transmit        {:>12} {:>12} {:>12}\n", "sent", "drops", "errors");
	if (c.xmit.empty())
		fmt::print("  none\n");
	for (const auto &x : c.xmit)
		fmt::print("  {:<8} -> {:<8} {:>12} {:>12} {:>12}\n", ifname_or_index(x.from_ifindex),
			   ifname_or_index(x.to_ifindex), x.sent, x.drops, x.errors);
	return kExitOk;
}

} // namespace

void register_monitor(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("monitor", "count XDP errors from the xdp: tracepoints for this namespace");
	sub->require_subcommand(1);
	add_common_flags(*sub, g);
	auto *s = sub->add_subcommand("start", "load the monitor and pin it: it counts until `monitor stop` (running already: said, exit 0)");
	add_common_flags(*s, g);
	s->callback([&g] { g.exit_code = start(g); });
	auto *w = sub->add_subcommand("show", "print exceptions, redirect errors and devmap transmits counted so far");
	add_common_flags(*w, g);
	w->callback([&g] { g.exit_code = show(g); });
	auto *p = sub->add_subcommand("stop", "detach the monitor and remove its pins (none running: said, exit 0)");
	add_common_flags(*p, g);
	p->callback([&g] { g.exit_code = stop(g); });
	sub->footer("Example: xdpctl monitor start; xdpctl ctl stats veth0; xdpctl monitor show -j; xdpctl monitor stop");
}

} // namespace cli
