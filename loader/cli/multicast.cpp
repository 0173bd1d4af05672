// xdpctl multicast add|del GROUP PORT... and multicast mac add|del MAC [GROUP]: the groups of
// xdp_multicast, i.e. the entries of mcast_group0..3 (key = port ifindex) and the MAC -> group
// table mcast_macs, validated before any write.
#include <fmt/core.h>

#include "cli.hpp"
#include "devmap_out.hpp"

namespace cli {

namespace {

struct MulticastArgs {
	RedirectArgs dev;
	uint32_t group = 0;
	std::vector<std::string> ports;
	std::string mac;
};

// GROUP as a usage error of its own (CLI11's range check would print its own wording).
std::string check_group(uint32_t group)
{
	if (group >= xdpctl::kMulticastGroups)
		return fmt::format("GROUP {} out of range: groups are 0..{}", group, xdpctl::kMulticastGroups - 1);
	return {};
}

int print_mac(const Globals &g, const xdpctl::MulticastMac &m, const char *verb)
{
	if (g.json)
		print_json({{"map", xdpctl::kMulticastMacsMap}, {"mac", xdpctl::mac_string(m.mac)}, {"group", m.group},
			    {"already", m.already}});
	else if (m.already && std::string_view(verb) == "removed")
		fmt::print("{}: in no group of {}; nothing to remove\n", xdpctl::mac_string(m.mac), xdpctl::kMulticastMacsMap);
	else if (m.already)
		fmt::print("already in {}: {} -> group {}\n", xdpctl::kMulticastMacsMap, xdpctl::mac_string(m.mac), m.group);
	else
		fmt::print("{} {}: {} -> group {}{}\n", verb, xdpctl::kMulticastMacsMap, xdpctl::mac_string(m.mac), m.group,
			   m.old_group ? fmt::format(" (was group {})", *m.old_group) : "");
	return kExitOk;
}

void register_mac(CLI::App &sub, Globals &g, const std::shared_ptr<MulticastArgs> &a)
{
	auto *mac = sub.add_subcommand("mac", "which group a destination MAC belongs to (map mcast_macs)");
	mac->require_subcommand(1);
	add_common_flags(*mac, g);
	auto *add = mac->add_subcommand("add", "send frames to MAC to the ports of GROUP");
	add->add_option("mac", a->mac, "destination MAC, aa:bb:cc:dd:ee:ff")->required();
	add->add_option("group", a->group, "group 0..3")->required();
	add->add_flag("--replace", a->dev.replace, "move a MAC that is already in a group");
	add_common_flags(*add, g);
	add->callback([a, &g] {
		auto m = xdpctl::parse_mac(a->mac);
		if (!m) {
			g.exit_code = usage_error(g, "multicast mac add", "'" + a->mac + "' is not a MAC (aa:bb:cc:dd:ee:ff)");
			return;
		}
		if (auto e = check_group(a->group); !e.empty()) {
			g.exit_code = usage_error(g, "multicast mac add", e);
			return;
		}
		auto r = xdpctl::multicast_mac_add(*m, a->group, a->dev.replace);
		g.exit_code = r ? print_mac(g, *r, "added") : runtime_error(g, "multicast mac add", r.error());
	});
	auto *del = mac->add_subcommand("del", "remove MAC from its group (its frames then get miss_action)");
	del->add_option("mac", a->mac, "destination MAC, aa:bb:cc:dd:ee:ff")->required();
	add_common_flags(*del, g);
	del->callback([a, &g] {
		auto m = xdpctl::parse_mac(a->mac);
		if (!m) {
			g.exit_code = usage_error(g, "multicast mac del", "'" + a->mac + "' is not a MAC (aa:bb:cc:dd:ee:ff)");
			return;
		}
		auto r = xdpctl::multicast_mac_del(*m);
		g.exit_code = r ? print_mac(g, *r, "removed") : runtime_error(g, "multicast mac del", r.error());
	});
}

} // namespace

void register_multicast(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<MulticastArgs>();
	auto *sub = app.add_subcommand("multicast", "multicast groups of xdp_multicast: ports of devmaps mcast_group0..3 and MAC -> group");
	sub->require_subcommand(1);
	add_common_flags(*sub, g);
	auto *add = sub->add_subcommand("add", "add ports to multicast group GROUP");
	add->add_option("group", a->group, "group 0..3")->required();
	add->add_option("ports", a->ports, "interfaces")->required();
	add->add_option("--egress", a->dev.egress, "devmap egress program run on each port");
	add->add_option("--egress-prog", a->dev.egress_prog, "object files: which program in it");
	add_egress_mac_option(*add, a->dev);
	add_ready_option(*add, a->dev);
	add->add_flag("--replace", a->dev.replace, "replace the entries ports already have in the group");
	add_common_flags(*add, g);
	add->footer("Example: xdpctl load xdp_multicast veth0 && xdpctl multicast add 1 veth2 veth4 && "
		    "xdpctl multicast mac add 01:00:5e:00:00:01 1");
	add->callback([a, &g] {
		if ((g.exit_code = check_each_once(g, "multicast add", a->ports)))
			return;
		auto m = check_group(a->group);
		if (m.empty())
			m = check_egress(a->dev);
		if (!m.empty()) {
			g.exit_code = usage_error(g, "multicast add", m);
			return;
		}
		auto r = xdpctl::multicast_add(a->group, a->ports, egress_of(a->dev.egress, a->dev.egress_prog),
					       devmap_options(a->dev));
		g.exit_code = r ? print_writes(g, *r, "added", a->dev.replace) : runtime_error(g, "multicast add", r.error());
	});
	auto *del = sub->add_subcommand("del", "remove ports from multicast group GROUP");
	del->add_option("group", a->group, "group 0..3")->required();
	del->add_option("ports", a->ports, "interfaces")->required();
	add_common_flags(*del, g);
	del->callback([a, &g] {
		if ((g.exit_code = check_each_once(g, "multicast del", a->ports)))
			return;
		if (auto m = check_group(a->group); !m.empty()) {
			g.exit_code = usage_error(g, "multicast del", m);
			return;
		}
		auto r = xdpctl::multicast_del(a->group, a->ports);
		g.exit_code = r ? print_writes(g, *r, "removed") : runtime_error(g, "multicast del", r.error());
	});
	register_mac(*sub, g, a);
}

} // namespace cli
