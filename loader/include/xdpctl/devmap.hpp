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
//   mcast_group0..3                 key = port ifindex,    value = struct bpf_devmap_val
//   mcast_macs                      key = struct xdpctl_mac, value = __u32 group
// (xdp_multicast; mcast_groups, the array of maps that holds mcast_group0..3, is preset at load)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xdpctl/error.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/readiness.hpp"
#include "xdpctl/registry.hpp"

namespace xdpctl {

inline constexpr const char *kRedirectMaps[] = {"tx_port", "tx_port_hash"};
inline constexpr const char *kBroadcastMaps[] = {"bcast_ports", "bcast_ports_hash"};
inline constexpr const char *kMulticastMacsMap = "mcast_macs";
inline constexpr uint32_t kMulticastGroups = 4; // XDPCTL_MCAST_GROUPS, checked in loader_devmap.cpp

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
	// The egress program's action for each egress port: its instance for that port (one per
	// port, include/xdpctl/egress.h) gets the port's own MAC in port_cfg, the source every
	// frame leaves with. Needs an egress program with port_cfg (xdp_egress).
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

// Multicast groups (xdp_multicast): a port is in group G when its entry is in mcast_groupG; a
// frame goes to the group its destination MAC maps to in mcast_macs. group >= kMulticastGroups
// is EINVAL (nothing written); the maps must have been pinned by `xdpctl load xdp_multicast`.
using MacAddr = std::array<uint8_t, 6>;
// "aa:bb:cc:dd:ee:ff" (six two-digit hex fields, either case), nothing else.
[[nodiscard]] std::optional<MacAddr> parse_mac(std::string_view s);
[[nodiscard]] std::string mac_string(const MacAddr &m);

[[nodiscard]] Result<std::vector<DevmapWrite>> multicast_add(uint32_t group, const std::vector<std::string> &ports,
							    const std::optional<ProgramSource> &egress,
							    const DevmapOptions &o = {});
[[nodiscard]] Result<std::vector<DevmapWrite>> multicast_del(uint32_t group, const std::vector<std::string> &ports);

struct MulticastMac {
	MacAddr mac{};
	uint32_t group = 0;
	std::optional<uint32_t> old_group; // set when the MAC was in another group (with replace)
};
// MAC -> group; a MAC already mapped is EEXIST unless replace.
[[nodiscard]] Result<MulticastMac> multicast_mac_add(const MacAddr &mac, uint32_t group, bool replace = false);
// Removes the MAC's mapping; ENOENT when it has none. Returns the group it was in.
[[nodiscard]] Result<MulticastMac> multicast_mac_del(const MacAddr &mac);
// Every MAC -> group mapping, sorted by MAC (for status).
[[nodiscard]] Result<std::vector<MulticastMac>> multicast_macs(const Layout &l);

// Lower level, used by the above and by tests: writes (key -> {ifindex, prog_fd}) entries into one
// devmap fd all-or-nothing (bpf_map_update_batch at or above batch_threshold entries, element by
// element when the map type has no batch op), restoring previous values on failure. Element by
// element, a DEVMAP_HASH key is inserted with BPF_NOEXIST and its old value read only when it
// exists; a DEVMAP's old values are all read (every index exists). With a txn,
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
