// What is attached where in the calling thread's namespace, and what the shared devmaps hold.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/error.hpp"
#include "xdpctl/netdev.hpp"

namespace xdpctl {

struct InterfaceStatus {
	int ifindex = 0;
	std::string name;
	XdpMode mode = XdpMode::None;
	uint32_t prog_id = 0;
	std::string prog; // program name
	uint32_t link_id = 0; // 0: attached without a link (ip link set ... xdp)
	bool owned = false;   // xdpctl's pinned link holds it
	std::optional<bool> counters; // the program's per-action counters on/off; none: it has no switch
};

struct DevmapEntry {
	uint32_t key = 0;       // ingress ifindex (redirect), port ifindex (group), or slot (bcast_ports)
	uint32_t ifindex = 0;   // the egress device
	std::string ifname;     // "" if not in this namespace
	uint32_t egress_prog_id = 0;
	std::string egress_prog;
};

struct DevmapStatus {
	std::string name;  // the pinned map's name (tx_port, bcast_ports, ...)
	uint32_t map_id = 0;
	bool hash = false; // DEVMAP_HASH
	bool slot_keys = false; // keys are group slots 0..n-1 (bcast_ports), not ifindexes
	uint32_t max_entries = 0;
	std::vector<DevmapEntry> entries;
};

struct NamespaceStatus {
	std::vector<InterfaceStatus> interfaces;
	std::vector<DevmapStatus> devmaps;
	// interfaces with xdpctl pins whose device was removed (cleaned by the next command)
	std::vector<int> stale_ifindexes;
	// links xdpctl made here whose interface moved to another namespace with them (still
	// attached there; `xdpctl unload IFNAME` in that namespace detaches them)
	struct Moved {
		uint32_t link_id = 0;
		uint32_t prog_id = 0;
		std::string prog;
		uint32_t ifindex = 0; // in the namespace it moved to
	};
	std::vector<Moved> moved;
};

[[nodiscard]] Result<NamespaceStatus> status();
// The bytes of `const volatile` variable `var` as loaded program prog_id holds it: read from its
// frozen .rodata map, the variable found through that map's BTF. nullopt when it has none.
[[nodiscard]] Result<std::optional<std::vector<uint8_t>>> loaded_rodata(uint32_t prog_id, const std::string &var);
// Whether loaded program prog_id counts per action: its xdpctl_stats_on (include/xdpctl/stats.h).
// nullopt for a program without that switch.
[[nodiscard]] Result<std::optional<bool>> counters_on(uint32_t prog_id);
// The devmaps pinned at ROOT/ns<NS>/maps/ and their entries.
[[nodiscard]] Result<std::vector<DevmapStatus>> devmaps_status(const Layout &l);

} // namespace xdpctl
