// xdpctl repair: converge the namespace to its recorded desired state without knowing what was
// interrupted (every other verb does this first): a command killed at any point is finished,
// what devices that went left behind is removed, links that moved with their device are kept.
#include <fmt/core.h>

#include <memory>

#include "cli.hpp"
#include "detach_out.hpp"
#include "xdpctl/loader.hpp"

namespace cli {

namespace {
// --reset-state: the record unpinned and rebuilt from what the kernel shows (loader.hpp), said
// in one line before the repair's steps; with -j one object, the steps in "steps".
int reset(const Globals &g)
{
	auto r = xdpctl::reset_state();
	if (!r)
		return runtime_error(g, "repair", r.error());
	if (g.json) {
		print_json({{"reset", r->removed},
			    {"record", r->pin},
			    {"interfaces", r->interfaces},
			    {"rules", r->rules},
			    {"ports", r->ports},
			    {"steps", detached_json(r->steps)}});
		return kExitOk;
	}
	fmt::print("{}: {} interface(s), {} redirect rule(s), {} group port(s)\n",
		   r->removed ? "reset the state record " + r->pin + ": rebuilt from what the kernel shows"
			      : "no state record at " + r->pin + " to reset; recorded now",
		   r->interfaces, r->rules, r->ports);
	print_detached(g, r->steps);
	return kExitOk;
}
} // namespace

void register_repair(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("repair", "converge this namespace to what xdpctl was asked (finish a killed command)");
	auto reset_state = std::make_shared<bool>(false);
	sub->add_flag("--reset-state", *reset_state,
		      "rebuild a corrupt state record from what the kernel shows (loses the names programs were "
		      "loaded as and an interrupted command's intent)");
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl repair\n         xdpctl repair --reset-state");
	sub->callback([&g, reset_state] {
		if (*reset_state) {
			g.exit_code = reset(g);
			return;
		}
		auto r = xdpctl::repair();
		if (!r) {
			g.exit_code = runtime_error(g, "repair", r.error());
			return;
		}
		print_detached(g, *r);
		if (!g.json && r->empty())
			fmt::print("nothing to repair\n");
		g.exit_code = kExitOk;
	});
}

} // namespace cli
