// xdpctl status: every interface of the namespace with its XDP program, like xdp-loader status,
// plus what is in the shared devmaps.
#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/status.hpp"

namespace cli {

namespace {
// "on", "off", or "-" for a program without xdpctl's counters switch (or no program)
const char *counters_word(const std::optional<bool> &c)
{
	return !c ? "-" : *c ? "on" : "off";
}

int run(const Globals &g)
{
	auto r = xdpctl::status();
	if (!r)
		return runtime_error(g, "status", r.error());
	// xdp_multicast's MAC -> group table; its groups' ports are the devmaps mcast_group0..3
	auto l = xdpctl::current_layout();
	if (!l)
		return runtime_error(g, "status", l.error());
	auto macs = xdpctl::multicast_macs(*l);
	if (!macs)
		return runtime_error(g, "status", macs.error());
	if (g.json) {
		nlohmann::json j;
		j["interfaces"] = nlohmann::json::array();
		for (const auto &i : r->interfaces)
			j["interfaces"].push_back({{"ifname", i.name}, {"ifindex", i.ifindex}, {"mode", xdpctl::to_string(i.mode)},
						   {"prog", i.prog}, {"prog_id", i.prog_id}, {"link_id", i.link_id},
						   {"owned", i.owned},
						   {"counters", i.counters ? nlohmann::json(*i.counters) : nlohmann::json(nullptr)}});
		j["devmaps"] = nlohmann::json::array();
		for (const auto &d : r->devmaps) {
			nlohmann::json e = nlohmann::json::array();
			for (const auto &x : d.entries)
				e.push_back({{"key", x.key}, {"ifindex", x.ifindex}, {"ifname", x.ifname},
					     {"egress_prog_id", x.egress_prog_id}, {"egress_prog", x.egress_prog}});
			j["devmaps"].push_back({{"name", d.name}, {"id", d.map_id}, {"type", d.hash ? "devmap_hash" : "devmap"},
						{"key", d.slot_keys ? "slot" : "ifindex"}, {"max_entries", d.max_entries},
						{"entries", e}});
		}
		j["multicast_macs"] = nlohmann::json::array();
		for (const auto &m : *macs)
			j["multicast_macs"].push_back({{"mac", xdpctl::mac_string(m.mac)}, {"group", m.group}});
		j["stale_ifindexes"] = r->stale_ifindexes;
		j["moved"] = nlohmann::json::array();
		for (const auto &m : r->moved)
			j["moved"].push_back({{"link_id", m.link_id}, {"prog_id", m.prog_id}, {"prog", m.prog}, {"ifindex", m.ifindex}});
		print_json(j);
		return kExitOk;
	}
	fmt::print("{:<16} {:<20} {:<8} {:>8} {:>8}  {:<6}  {}\n", "Interface", "Prog name", "Mode", "Prog ID", "Link ID",
		   "xdpctl", "Counters");
	for (const auto &i : r->interfaces) {
		if (!i.prog_id)
			fmt::print("{:<16} {:<20}\n", i.name, "<no XDP program>");
		else
			fmt::print("{:<16} {:<20} {:<8} {:>8} {:>8}  {:<6}  {}\n", i.name, i.prog, xdpctl::to_string(i.mode),
				   i.prog_id, i.link_id ? std::to_string(i.link_id) : "-", i.owned ? "yes" : "no",
				   counters_word(i.counters));
	}
	for (int idx : r->stale_ifindexes)
		fmt::print("ifindex {}: pins left by a removed interface; the next xdpctl command (or xdpctl repair) cleans them\n", idx);
	for (const auto &m : r->moved)
		fmt::print("link {} ({}, prog id {}): its interface moved to another namespace (ifindex {} there) and runs it "
			   "there; `xdpctl unload IFNAME` in that namespace detaches it\n",
			   m.link_id, m.prog, m.prog_id, m.ifindex);
	for (const auto &d : r->devmaps) {
		fmt::print("\ndevmap {} ({}, id {}, {} of {} entries)\n", d.name, d.hash ? "DEVMAP_HASH" : "DEVMAP", d.map_id,
			   d.entries.size(), d.max_entries);
		for (const auto &x : d.entries) {
			auto key = xdpctl::ifname_of(static_cast<int>(x.key));
			std::string k = d.slot_keys ? "slot " + std::to_string(x.key) : key ? *key : std::to_string(x.key);
			fmt::print("  {:<16} -> {:<16}{}\n", k,
				   x.ifname.empty() ? "ifindex " + std::to_string(x.ifindex) : x.ifname,
				   x.egress_prog_id ? fmt::format(" egress {} (id {})", x.egress_prog, x.egress_prog_id) : "");
		}
	}
	if (!macs->empty())
		fmt::print("\nmulticast MACs ({}: destination MAC -> group)\n", xdpctl::kMulticastMacsMap);
	for (const auto &m : *macs)
		fmt::print("  {} -> group {}\n", xdpctl::mac_string(m.mac), m.group);
	return kExitOk;
}
} // namespace

void register_status(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("status", "show the XDP program of every interface and the shared devmaps");
	add_common_flags(*sub, g);
	sub->callback([&g] { g.exit_code = run(g); });
}

} // namespace cli
