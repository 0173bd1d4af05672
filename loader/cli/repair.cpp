// xdpctl repair: converge the namespace to its recorded desired state without knowing what was
// interrupted (every other verb does this first): a command killed at any point is finished,
// what devices that went left behind is removed, links that moved with their device are kept.
#include <fmt/core.h>

#include "cli.hpp"
#include "detach_out.hpp"
#include "xdpctl/loader.hpp"

namespace cli {

void register_repair(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("repair", "converge this namespace to what xdpctl was asked (finish a killed command)");
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl repair");
	sub->callback([&g] {
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
