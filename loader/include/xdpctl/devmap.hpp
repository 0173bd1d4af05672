// The devmaps of the namespace as a domain: redirect rules (ingress port -> egress port, with an
// optional devmap egress program) and the broadcast group. Every change is validated before the
// first map write (devices exist in this namespace, the egress program is a BPF_XDP_DEVMAP
// program whose frags flag fits and that is not device-bound, egress veths are ready redirect
// targets or can be made so) and is all-or-nothing: entries written by a failed call are
// restored to what they were.
//
// Maps (BRIEF.md contract, pinned at ROOT/ns<NS>/maps/ by `xdpctl load`):
//   tx_port / tx_port_hash          key = ingress ifindex, value = struct bpf_devmap_val
//   bcast_ports                     key = dense slot 0..n-1, value = struct bpf_devmap_val
//   bcast_ports_hash                key = port ifindex,    value = struct bpf_devmap_val
//   mcast_group0..3                 key = port ifindex,    value = struct bpf_devmap_val
//   mcast_macs                      key = struct xdpctl_mac, value = __u32 group
// The group devmaps (bcast_ports, bcast_ports_hash, mcast_group0..3) are walked whole for every
// frame, so they are sized to the group: each sits in a slot of an ARRAY_OF_MAPS (bcast_group,
// bcast_group_hash, mcast_groups) and a change that no longer fits (or leaves it a quarter
// full) fills a devmap of the right size and swaps it into the slot (include/xdpctl/broadcast.h);
// the pin NAME then names the new devmap.
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
inline constexpr const char *kBroadcastGroupMaps[] = {"bcast_group", "bcast_group_hash"}; // their ARRAY_OF_MAPS
inline constexpr const char *kMulticastMacsMap = "mcast_macs";
inline constexpr const char *kMulticastGroupsMap = "mcast_groups";
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
	bool replaced = false; // add: an entry was in place for this key (port) and was overwritten
	bool slot_key = false; // key is a group slot (bcast_ports), not an ifindex
	bool already = false;  // add: the entry was in place; del: there was none (nothing changed)
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
	bool already = false;              // add: it was in this group; del: it was in none
};
// MAC -> group; a MAC already in this group is fine (already), in another one EEXIST unless
// replace. One map update: nothing to finish after a crash.
[[nodiscard]] Result<MulticastMac> multicast_mac_add(const MacAddr &mac, uint32_t group, bool replace = false);
// Removes the MAC's mapping (already when it has none). Returns the group it was in.
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

// Deletes keys from a devmap (a key without an entry is skipped); with a txn, the deleted values
// are written back when the txn is not committed.
[[nodiscard]] Status devmap_delete(int map_fd, const std::string &map_name, const std::vector<uint32_t> &keys,
				   Txn *txn = nullptr);

// A port group walked per frame: the devmap in slot `slot` of the ARRAY_OF_MAPS outer_fd. A
// DEVMAP group is keyed by dense slots (the first free one for a new port; the port is the
// value's ifindex), a DEVMAP_HASH group by ifindex.
struct DevmapGroup {
	int outer_fd = -1;
	uint32_t slot = 0;
	std::string name; // the devmap's name, for messages and writes
};
struct GroupPort {
	uint32_t ifindex = 0;
	int prog_fd = -1; // -1: no egress program
};
struct GroupChange {
	std::vector<DevmapWrite> writes; // the ports written or removed, with their keys
	Fd devmap;                       // the group's devmap after the change
	bool swapped = false;            // devmap is a new one, swapped into the slot (grown or shrunk)
	uint32_t max_entries = 0;        // devmap's size
};
// The devmap size for a group of n ports: the next power of two >= n, at least
// XDPCTL_GROUP_MIN_ENTRIES (a DEVMAP_HASH has that many buckets anyway).
[[nodiscard]] uint32_t group_devmap_size(size_t ports);
// The devmap in the group's slot.
[[nodiscard]] Result<Fd> group_devmap(const DevmapGroup &g);
// The key of ifindex's entry in a group devmap, if it has one.
[[nodiscard]] std::optional<uint32_t> group_key(int devmap_fd, uint32_t ifindex);
// Adds ports (a port already in the group gets the new value at its key). When the group then
// outgrows its devmap, a devmap of group_devmap_size() is created, filled with every port and
// swapped into the slot in one update: frames in flight finish on the old devmap, the next frame
// sees the new one, none is lost. All-or-nothing; with a txn, undone unless it is committed.
[[nodiscard]] Result<GroupChange> group_add(const DevmapGroup &g, const std::vector<GroupPort> &ports,
					    size_t batch_threshold = 8, Txn *txn = nullptr);
// Removes ports (a port not in the group is skipped); the devmap shrinks by the same swap when
// the group fills a quarter of it or less.
[[nodiscard]] Result<GroupChange> group_del(const DevmapGroup &g, const std::vector<uint32_t> &ifindexes,
					    Txn *txn = nullptr);

// Checks a devmap egress program before it is put into a devmap: type XDP with expected attach
// type BPF_XDP_DEVMAP, not device-bound, frags flag equal to the devmap user's (when known).
[[nodiscard]] Status validate_egress_prog(const bpf_program *p, const std::string &name,
					  std::optional<bool> devmap_frags);

} // namespace xdpctl
