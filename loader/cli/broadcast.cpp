// xdpctl broadcast add|del PORT...: the broadcast group, i.e. the entries of bcast_ports (key = a
// slot) / bcast_ports_hash (key = port ifindex), each sized to the group, validated before any write.
#include "cli.hpp"
#include "devmap_out.hpp"

namespace cli {

void register_broadcast(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<RedirectArgs>();
	auto ports = std::make_shared<std::vector<std::string>>();
	auto *sub = app.add_subcommand("broadcast", "the broadcast group: ports of devmap bcast_ports");
	sub->require_subcommand(1);
	add_common_flags(*sub, g);
	auto *add = sub->add_subcommand("add", "add ports to the broadcast group");
	add->add_option("ports", *ports, "interfaces")->required();
	add->add_option("--egress", a->egress, "devmap egress program run on each port");
	add->add_option("--egress-prog", a->egress_prog, "object files: which program in it");
	add_egress_mac_option(*add, *a);
	add_ready_option(*add, *a);
	add->add_flag("--replace", a->replace, "replace the entries ports already have");
	add_common_flags(*add, g);
	add->footer("Example: xdpctl load xdp_broadcast veth0 veth2 veth4 && xdpctl broadcast add veth0 veth2 veth4");
	add->callback([a, ports, &g] {
		if ((g.exit_code = check_each_once(g, "broadcast add", *ports)))
			return;
		if (auto m = check_egress(*a); !m.empty()) {
			g.exit_code = usage_error(g, "broadcast add", m);
			return;
		}
		auto r = xdpctl::broadcast_add(*ports, egress_of(a->egress, a->egress_prog), devmap_options(*a));
		g.exit_code = r ? print_writes(g, *r, "added", a->replace) : runtime_error(g, "broadcast add", r.error());
	});
	auto *del = sub->add_subcommand("del", "remove ports from the broadcast group");
	del->add_option("ports", *ports, "interfaces")->required();
	add_common_flags(*del, g);
	del->callback([ports, &g] {
		if ((g.exit_code = check_each_once(g, "broadcast del", *ports)))
			return;
		auto r = xdpctl::broadcast_del(*ports);
		g.exit_code = r ? print_writes(g, *r, "removed") : runtime_error(g, "broadcast del", r.error());
	});
}

} // namespace cli
