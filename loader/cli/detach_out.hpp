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
	case xdpctl::DetachState::Finished:
		return "finished";
	case xdpctl::DetachState::Entry:
		return "entry";
	case xdpctl::DetachState::Leftover:
		return "leftover";
	case xdpctl::DetachState::Removed:
		return "removed";
	}
	return "?";
}

// One step as a line of text (no newline).
inline std::string detached_line(const xdpctl::Detached &d)
{
	std::string who = d.ifname.empty() ? "ifindex " + std::to_string(d.ifindex) : d.ifname;
	switch (d.state) {
	case xdpctl::DetachState::Unloaded:
		return fmt::format("unloaded {} from {}{}", d.prog, who, d.detail.empty() ? "" : " (" + d.detail + ")");
	case xdpctl::DetachState::Gone:
		return fmt::format("removed the pins and rules of {} ({})", who,
				   d.detail.empty() ? "the interface is gone" : d.detail);
	case xdpctl::DetachState::Moved:
		return fmt::format("left {} attached: its interface moved to another namespace (ifindex {} there); "
				   "`xdpctl unload IFNAME` in that namespace detaches it",
				   d.prog, d.ifindex);
	case xdpctl::DetachState::NotLoaded:
		return fmt::format("{}: no program of xdpctl; nothing to unload", d.ifname);
	case xdpctl::DetachState::Failed:
		return fmt::format("dropped the unfinished load of {}: {}", who, d.detail);
	case xdpctl::DetachState::Finished:
		return fmt::format("finished the interrupted load of {} on {}", d.prog, who);
	case xdpctl::DetachState::Entry:
		return "finished: " + d.detail;
	case xdpctl::DetachState::Leftover:
	case xdpctl::DetachState::Removed:
		return d.detail;
	}
	return "?";
}

// A step the convergence of another verb took (set_convergence_observer), on stderr: stdout
// keeps the verb's own output (and its JSON) whole.
inline void print_convergence_step(const xdpctl::Detached &d)
{
	fmt::print(stderr, "xdpctl: {}\n", detached_line(d));
}

// The steps as the JSON array unload and repair print.
inline nlohmann::json detached_json(const std::vector<xdpctl::Detached> &ds)
{
	nlohmann::json arr = nlohmann::json::array();
	for (const auto &d : ds) {
		arr.push_back({{"ifname", d.ifname}, {"ifindex", d.ifindex}, {"prog", d.prog}, {"state", to_string(d.state)}});
		if (!d.detail.empty())
			arr.back()["detail"] = d.detail;
	}
	return arr;
}

inline void print_detached(const Globals &g, const std::vector<xdpctl::Detached> &ds)
{
	if (g.json) {
		print_json(detached_json(ds));
		return;
	}
	for (const auto &d : ds)
		fmt::print("{}\n", detached_line(d));
}

} // namespace cli
