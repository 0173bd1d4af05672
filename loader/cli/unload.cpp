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
};

int run(const UnloadArgs &a, const Globals &g)
{
	if (a.all == !a.interfaces.empty())
		return usage_error(g, "unload", "give IFNAME... or --all (not both); see xdpctl unload --help");
	if (int rc = check_each_once(g, "unload", a.interfaces))
		return rc;
	auto r = a.all ? xdpctl::unload_all() : xdpctl::unload(a.interfaces);
	if (!r)
		return runtime_error(g, "unload", r.error());
	print_detached(g, *r);
	if (!g.json && r->empty())
		fmt::print("nothing loaded by xdpctl in this namespace\n");
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
	sub->add_option("interfaces", a->interfaces, "interfaces to unload");
	sub->add_flag("-a,--all", a->all,
		      "every interface xdpctl loaded in this namespace (also removed ones); a running tracepoint "
		      "monitor is left running (said)");
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl unload veth0\n         xdpctl unload --all");
	sub->callback([a, &g] { g.exit_code = run(*a, g); });
}

} // namespace cli
