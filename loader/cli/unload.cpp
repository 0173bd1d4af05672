// xdpctl unload IFNAME...|--all: detach xdpctl's programs and remove every pin it made.
#include <fmt/core.h>

#include "cli.hpp"
#include "detach_out.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/monitor.hpp"

namespace cli {

namespace {
struct UnloadArgs {
	std::vector<std::string> interfaces;
	bool all = false;
	bool monitor = false; // --all also stops the tracepoint monitor
};

// The monitor's stop, in the lines `xdpctl monitor stop` prints (with -j on stderr, prefixed
// `xdpctl: `: stdout stays unload's list).
int stop_monitor(const Globals &g)
{
	auto r = xdpctl::stop_pinned_monitor();
	if (!r)
		return runtime_error(g, "unload", r.error());
	const char *line = r->half_removed
				   ? "monitor stopped: removed the pins a half-removed monitor had left (an interrupted monitor start or stop)"
			   : r->was_running ? "monitor stopped"
					    : "monitor not running: nothing to stop";
	fmt::print(g.json ? stderr : stdout, "{}{}\n", g.json ? "xdpctl: " : "", line);
	return kExitOk;
}

int run(const UnloadArgs &a, const Globals &g)
{
	if (a.all == !a.interfaces.empty())
		return usage_error(g, "unload", "give IFNAME... or --all (not both); see xdpctl unload --help");
	if (a.monitor && !a.all)
		return usage_error(g, "unload",
				   "--monitor goes with --all (the monitor is the namespace's, not an interface's); see xdpctl "
				   "unload --help");
	if (int rc = check_each_once(g, "unload", a.interfaces))
		return rc;
	auto r = a.all ? xdpctl::unload_all() : xdpctl::unload(a.interfaces);
	if (!r)
		return runtime_error(g, "unload", r.error());
	print_detached(g, *r);
	if (!g.json && r->empty())
		fmt::print("nothing loaded by xdpctl in this namespace\n");
	if (a.all && a.monitor)
		return stop_monitor(g);
	if (a.all) {
		// the tracepoint monitor is not a program on an interface: --all leaves it, and says so
		// (on stderr with -j, whose stdout is the list)
		auto mon = xdpctl::pinned_monitor_state();
		const char *note = !mon || *mon == xdpctl::MonitorPins::None ? nullptr
				   : *mon == xdpctl::MonitorPins::Running
				       ? "the tracepoint monitor of this namespace keeps running (xdpctl monitor stop stops it)"
				       : "a half-removed tracepoint monitor is left in this namespace (xdpctl monitor stop removes it)";
		if (note)
			fmt::print(g.json ? stderr : stdout, "{}{}\n", g.json ? "xdpctl: " : "", note);
	}
	return kExitOk;
}
} // namespace

void register_unload(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<UnloadArgs>();
	auto *sub = app.add_subcommand("unload", "detach xdpctl's program from interfaces and remove its pins and maps");
	sub->add_option("interfaces", a->interfaces,
			"interfaces to unload; the redirect rules from or to each and its group ports go with it (one "
			"line each)");
	sub->add_flag("-a,--all", a->all,
		      "every interface xdpctl loaded in this namespace (also removed ones), with every rule and port; a "
		      "running tracepoint monitor is left running (said) unless --monitor");
	sub->add_flag("--monitor", a->monitor, "with --all: also stop the tracepoint monitor (as xdpctl monitor stop)");
	add_common_flags(*sub, g);
	sub->footer("Unloading an interface removes, in the same step, every redirect rule with it as ingress or "
		    "egress and its broadcast and multicast ports, and prints each (`removed redirect a0 -> a1 (a1 was "
		    "unloaded)`, `removed a1 from the broadcast group (a1 was unloaded)`; -j: state \"removed\"): no "
		    "rule is left sending to an interface whose program is gone. An interface without a program of "
		    "xdpctl keeps its rules and ports (xdpctl redirect del and broadcast/multicast del remove them).\n"
		    "Example: xdpctl unload veth0\n         xdpctl unload --all --monitor");
	sub->callback([a, &g] { g.exit_code = run(*a, g); });
}

} // namespace cli
