// Attaching programs to interfaces through pinned bpf_links, replacing them atomically, and
// detaching them leaving nothing behind. Every call here takes the RootLock and is all-or-nothing:
// on failure it closes and unpins what it made and restores what it replaced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/error.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/registry.hpp"

namespace xdpctl {

enum class AttachMode { Native, Skb };

struct LoadRequest {
	ProgramSource program;
	std::vector<std::string> interfaces; // names in the calling thread's namespace
	AttachMode mode = AttachMode::Native;
	bool dev_bound = false; // bind to the device (forced for programs whose spec says so)
	bool replace = false;   // swap the program of a link xdpctl owns (bpf_link_update)
	// false (`--no-stats`): the instances keep no per-action counters; the verifier drops the
	// counting code (the program's xdpctl_stats_on, include/xdpctl/stats.h). EINVAL for a program
	// without that switch.
	bool counters = true;
};

struct Attached {
	std::string ifname;
	int ifindex = 0;
	std::string prog;   // program name
	uint32_t prog_id = 0;
	uint32_t link_id = 0;
	AttachMode mode = AttachMode::Native;
	bool replaced = false; // an xdpctl link was updated in place
	std::string link_pin;
	bool counters = true; // the instance counts per action (see LoadRequest::counters)
};

// Loads one program instance per interface and attaches it; pins per the bpffs layout. The
// attaches run on a second thread while the next instances load (see loader_attach.cpp).
[[nodiscard]] Result<std::vector<Attached>> load(const LoadRequest &req);

struct Detached {
	std::string ifname; // "" for a removed interface whose pins were cleaned
	int ifindex = 0;
	std::string prog;
};

// Detaches xdpctl's program from each interface and removes its pins; shared maps and the
// namespace directory go once no interface uses them. Fails (changing nothing) if an interface is
// unknown or has no program of xdpctl.
[[nodiscard]] Result<std::vector<Detached>> unload(const std::vector<std::string> &interfaces);
// Every interface xdpctl loaded in this namespace, including ones that were removed meanwhile.
[[nodiscard]] Result<std::vector<Detached>> unload_all();

} // namespace xdpctl
