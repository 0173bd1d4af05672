// Shared by the devmap verbs (redirect, broadcast): printing writes and checking --egress.
#pragma once

#include <fmt/core.h>

#include <optional>

#include "cli.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/netdev.hpp"

namespace cli {

struct RedirectArgs {
	std::string in, out, egress, egress_prog;
	std::vector<std::string> del;
	bool replace = false;
	bool egress_src_mac = false;
	std::string ready = "gro";
};

inline xdpctl::DevmapOptions devmap_options(const RedirectArgs &a)
{
	return {.replace = a.replace,
		.ready = a.ready == "refuse" ? xdpctl::ReadyPolicy::Refuse : xdpctl::ReadyPolicy::Gro,
		.egress_src_mac = a.egress_src_mac};
}

inline void add_ready_option(CLI::App &sub, RedirectArgs &a)
{
	sub.add_option("--ready", a.ready,
		       "an egress veth whose peer has neither XDP nor GRO: gro (turn GRO on at the peer, default) or refuse")
		->check(CLI::IsMember({"gro", "refuse"}));
}

// replace_asked: the add had --replace; an entry it wrote where none was says that nothing was
// replaced (as load does), one that took another's place says "replaced".
inline int print_writes(const Globals &g, const std::vector<xdpctl::DevmapWrite> &ws, const char *verb,
			bool replace_asked = false)
{
	nlohmann::json arr = nlohmann::json::array();
	for (const auto &w : ws) {
		// a group slot (bcast_ports) names no device: the port is the value's
		uint32_t port_idx = w.slot_key ? w.ifindex : w.key;
		auto port = xdpctl::ifname_of(static_cast<int>(port_idx));
		auto out = xdpctl::ifname_of(static_cast<int>(w.ifindex));
		std::string p = port ? *port : std::to_string(port_idx), o = out ? *out : std::to_string(w.ifindex);
		std::string k = w.slot_key ? "slot " + std::to_string(w.key) : p;
		if (g.json)
			arr.push_back({{"map", w.map}, {"key", w.key}, {"port", p}, {"ifindex", w.ifindex},
				       {"ifname", o}, {"egress_prog_id", w.egress_prog_id}, {"already", w.already},
				       {"replaced", w.replaced}});
		else if (w.already && std::string_view(verb) == "removed")
			fmt::print("no entry in {}: {}; nothing to remove\n", w.map, k);
		else if (w.already)
			fmt::print("already in {}: {} -> {}\n", w.map, k, o);
		else
			fmt::print("{} {}: {} -> {}{}{}\n", w.replaced ? "replaced" : verb, w.map, k, o,
				   w.egress_prog_id ? fmt::format(" (egress prog id {})", w.egress_prog_id) : "",
				   replace_asked && !w.replaced ? " (--replace had nothing to replace: nothing was in place)" : "");
	}
	if (g.json)
		print_json(arr);
	return kExitOk;
}

inline std::optional<xdpctl::ProgramSource> egress_of(const std::string &e, const std::string &prog)
{
	if (e.empty())
		return std::nullopt;
	return xdpctl::ProgramSource{e, prog};
}

inline void add_egress_mac_option(CLI::App &sub, RedirectArgs &a)
{
	sub.add_flag("--egress-mac", a.egress_src_mac,
		     "egress action: the egress program (xdp_egress) writes the egress port's own MAC as source");
}

// A registry name given to --egress must be a devmap egress program (and takes no --egress-prog:
// it names one program already), and an egress action needs an egress program: usage errors otherwise.
inline std::string check_egress(const RedirectArgs &a)
{
	const std::string &e = a.egress;
	if (a.egress_src_mac && e.empty())
		return "--egress-mac is an action of the egress program: give it one (--egress xdp_egress)";
	if (e.empty() || xdpctl::ProgramSource{e, {}}.is_file())
		return {};
	const auto *spec = xdpctl::find_program(e);
	if (!spec)
		return "unknown egress program '" + e + "' (xdpctl load --list shows the devmap-egress ones), or give an object file path";
	if (spec->kind != xdpctl::ProgKind::DevmapEgress)
		return "'" + e + "' is not a devmap egress program (SEC(\"xdp/devmap\")); see xdpctl load --list";
	if (!a.egress_prog.empty())
		return "--egress-prog picks a program of an object file; '" + e +
		       "' names one program of the collection: drop --egress-prog (variants: xdpctl load --list)";
	return {};
}
} // namespace cli
