// xdpctl unload IFNAME...|--all: detach xdpctl's programs and remove every pin it made.
#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/loader.hpp"

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
	auto r = a.all ? xdpctl::unload_all() : xdpctl::unload(a.interfaces);
	if (!r)
		return runtime_error(g, "unload", r.error());
	nlohmann::json arr = nlohmann::json::array();
	for (const auto &d : *r) {
		if (g.json)
			arr.push_back({{"ifname", d.ifname}, {"ifindex", d.ifindex}, {"prog", d.prog}});
		else if (d.ifname.empty())
			fmt::print("removed the pins of ifindex {} (the interface is gone)\n", d.ifindex);
		else
			fmt::print("unloaded {} from {}\n", d.prog, d.ifname);
	}
	if (g.json)
		print_json(arr);
	else if (r->empty())
		fmt::print("nothing loaded by xdpctl in this namespace\n");
	return kExitOk;
}
} // namespace

void register_unload(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<UnloadArgs>();
	auto *sub = app.add_subcommand("unload", "detach xdpctl's program from interfaces and remove its pins and maps");
	sub->add_option("interfaces", a->interfaces, "interfaces to unload");
	sub->add_flag("-a,--all", a->all, "every interface xdpctl loaded in this namespace (also removed ones)");
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl unload veth0\n         xdpctl unload --all");
	sub->callback([a, &g] { g.exit_code = run(*a, g); });
}

} // namespace cli
