// Shared by unload and repair: what a convergence found and did, one line (or JSON object) each.
#pragma once

#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/loader.hpp"

namespace cli {

inline const char *to_string(xdpctl::DetachState s)
{
	switch (s) {
	case xdpctl::DetachState::Unloaded:
		return "unloaded";
	case xdpctl::DetachState::Gone:
		return "gone";
	case xdpctl::DetachState::Moved:
		return "moved";
	case xdpctl::DetachState::NotLoaded:
		return "not-loaded";
	case xdpctl::DetachState::Failed:
		return "failed";
	}
	return "?";
}

inline void print_detached(const Globals &g, const std::vector<xdpctl::Detached> &ds)
{
	nlohmann::json arr = nlohmann::json::array();
	for (const auto &d : ds) {
		std::string who = d.ifname.empty() ? "ifindex " + std::to_string(d.ifindex) : d.ifname;
		if (g.json) {
			arr.push_back({{"ifname", d.ifname}, {"ifindex", d.ifindex}, {"prog", d.prog}, {"state", to_string(d.state)}});
			if (!d.detail.empty())
				arr.back()["detail"] = d.detail;
			continue;
		}
		switch (d.state) {
		case xdpctl::DetachState::Unloaded:
			fmt::print("unloaded {} from {}{}\n", d.prog, d.ifname, d.detail.empty() ? "" : " (" + d.detail + ")");
			break;
		case xdpctl::DetachState::Gone:
			fmt::print("removed the pins and rules of {} (the interface is gone)\n", who);
			break;
		case xdpctl::DetachState::Moved:
			fmt::print("left {} attached: its interface moved to another namespace (ifindex {} there); "
				   "`xdpctl unload IFNAME` in that namespace detaches it\n",
				   d.prog, d.ifindex);
			break;
		case xdpctl::DetachState::NotLoaded:
			fmt::print("{}: no program of xdpctl; nothing to unload\n", d.ifname);
			break;
		case xdpctl::DetachState::Failed:
			fmt::print("dropped the unfinished load of {}: {}\n", who, d.detail);
			break;
		}
	}
	if (g.json)
		print_json(arr);
}

} // namespace cli
