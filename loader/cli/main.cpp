// Minimal stand-in for xdpctl's main (owned by the loader engineer; replace freely).
#include "cli.hpp"

int main(int argc, char **argv)
{
	CLI::App app{"xdpctl: load, inspect and control XDP programs"};
	Globals g;
	app.add_flag("-j,--json", g.json, "JSON output");
	app.require_subcommand(1);
	register_ctl(app, g);
	CLI11_PARSE(app, argc, argv);
	return 0;
}
