// The devmaps of the namespace as a domain: redirect rules (ingress port -> egress port, with an
// optional devmap egress program) and the broadcast group. Every change is validated before the
// first map write (devices exist in this namespace, the egress program is a BPF_XDP_DEVMAP
// program whose frags flag fits and that is not device-bound, egress veths are ready redirect
// targets or can be made so) and is all-or-nothing: entries written by a failed call are
// restored to what they were.
//
// Maps (BRIEF.md contract, pinned at ROOT/ns<NS>/maps/ by `xdpctl load`):
//   tx_port / tx_port_hash          key = ingress ifindex, value = struct bpf_devmap_val
//   bcast_ports / bcast_ports_hash  key = port ifindex,    value = struct bpf_devmap_val
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/readiness.hpp"
#include "xdpctl/registry.hpp"

namespace xdpctl {

inline constexpr const char *kRedirectMaps[] = {"tx_port", "tx_port_hash"};
inline constexpr const char *kBroadcastMaps[] = {"bcast_ports", "bcast_ports_hash"};

struct RedirectRule {
	std::string in;  // ingress interface
	std::string out; // egress interface
	std::optional<ProgramSource> egress; // devmap egress program (registry name or object file)
};

struct DevmapOptions {
	bool replace = false; // an ingress port that already has a rule gets the new one
	// An egress veth that is not a working redirect target: enable GRO on its peer (undone if the
	// change fails) or refuse. ReadyPolicy::XdpPass is for make_redirect_target_ready() only.
	ReadyPolicy ready = ReadyPolicy::Gro;
	// At or above this many entries the write goes through bpf_map_update_batch.
	size_t batch_threshold = 8;
	// The egress program's action for each egress port: its egress_ports entry (xdp_egress,
	// include/xdpctl/egress.h) gets the port's own MAC as the source every frame leaves with.
	// Needs an egress program with that map; undone with the rest when the change fails.
	bool egress_src_mac = false;
};

struct DevmapWrite {
	std::string map;
	uint32_t key = 0;
	uint32_t ifindex = 0;
	uint32_t egress_prog_id = 0;
	bool replaced = false;
};

[[nodiscard]] Result<std::vector<DevmapWrite>> redirect_add(const std::vector<RedirectRule> &rules,
							   const DevmapOptions &o = {});
// Removes the rules of these ingress interfaces; error if one has none (nothing removed then).
[[nodiscard]] Result<std::vector<DevmapWrite>> redirect_del(const std::vector<std::string> &in);

// Broadcast group membership: a port is in the group when its entry is in bcast_ports(_hash).
[[nodiscard]] Result<std::vector<DevmapWrite>> broadcast_add(const std::vector<std::string> &ports,
							    const std::optional<ProgramSource> &egress,
							    const DevmapOptions &o = {});
[[nodiscard]] Result<std::vector<DevmapWrite>> broadcast_del(const std::vector<std::string> &ports);

// Lower level, used by the above and by tests: writes (key -> {ifindex, prog_fd}) entries into one
// devmap fd all-or-nothing (bpf_map_update_batch at or above batch_threshold entries, element by
// element when the map type has no batch op), restoring previous values on failure. With a txn,
// the previous values are also restored when the txn is not committed.
struct DevmapEntryWrite {
	uint32_t key = 0;
	uint32_t ifindex = 0;
	int prog_fd = -1; // -1: no egress program
};
[[nodiscard]] Status devmap_write(int map_fd, const std::string &map_name,
				  const std::vector<DevmapEntryWrite> &entries, size_t batch_threshold = 8,
				  Txn *txn = nullptr);

// Checks a devmap egress program before it is put into a devmap: type XDP with expected attach
// type BPF_XDP_DEVMAP, not device-bound, frags flag equal to the devmap user's (when known).
[[nodiscard]] Status validate_egress_prog(const bpf_program *p, const std::string &name,
					  std::optional<bool> devmap_frags);

} // namespace xdpctl
