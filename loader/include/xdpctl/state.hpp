// The desired state of a namespace: what xdpctl was asked to make true, recorded before the
// kernel is touched, so that a command killed at any point is finished (or, if the user asked
// for something else since, superseded) by the next one. Every verb is "edit this record, then
// reconcile" (reconcile.hpp); the kernel is the observed state.
//
// Where it lives: ROOT/ns<NS>/state, a pinned BPF_MAP_TYPE_HASH (BPF_F_NO_PREALLOC) with one
// element, key 0, whose value is the whole record (a length and versioned text, below). Why a
// map: bpffs holds no regular files, and the record must sit beside the pins it describes, under
// the same ownership rule (bpffs.hpp: root-only, checked by check_bpffs like every pin) and go
// with them. Why a non-preallocated hash: bpf_map_update_elem of an element links a freshly
// allocated copy in place of the old one (the old is freed after an RCU grace period), so one
// syscall replaces the whole record; a SIGKILL lands before or after it, never inside, and a
// reader that does not hold the RootLock copies the old or the new value, never a mix (a
// preallocated map or an ARRAY copies into the element in place). Writers hold the RootLock.
//
// The record (text: `bpftool map dump pinned ROOT/ns<NS>/state` shows it readably), one line per
// fact, fields separated by tabs:
//   xdpctl-state 1
//   netns INODE COOKIE             which namespace wrote it (SO_NETNS_COOKIE: an inode is reused)
//   if IFINDEX NAME MODE COUNTERS DEVBOUND LINK_ID PROG_ID PENDING PROGRAM PROG
//   rule IN_IFINDEX IN_NAME OUT_IFINDEX OUT_NAME REALIZED EGRESS EGRESS_PROG SRC_MAC
//   port GROUP IFINDEX NAME REALIZED EGRESS EGRESS_PROG SRC_MAC
// An interface's identity is what xdpctl made: its ifindex and name when asked, then the link and
// program ids (PENDING: the program asked for is not yet known to run; LINK_ID 0: no link yet).
// A rule or port is REALIZED once its devmap entries were written: afterwards a missing entry
// means the kernel removed it because its device went away (dev_map_notification), not a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/error.hpp"
#include "xdpctl/registry.hpp"

namespace xdpctl {

inline constexpr const char *kStatePin = "state";
inline constexpr uint32_t kStateValueSize = 64 * 1024; // the record's room (about 500 interfaces or rules)
// A replaced program's per-interface maps are pinned as NAME-new first and renamed over NAME once
// the link runs the new program; a replace killed in between leaves the running program's maps at
// NAME-new (the next command renames them), where readers of its counters look too.
inline constexpr const char *kStagedSuffix = "-new";

// The network namespace of the calling thread: its inode (NS in the layout) and its cookie, which
// the kernel never reuses (a new namespace may get a freed inode).
struct NetnsId {
	uint64_t inode = 0;
	uint64_t cookie = 0;
	bool operator==(const NetnsId &) const = default;
};
[[nodiscard]] Result<NetnsId> current_netns();

struct IfState {
	int ifindex = 0;
	std::string name;
	ProgramSource program;
	bool skb = false; // generic mode
	bool counters = true;
	bool dev_bound = false;
	uint32_t link_id = 0; // the pinned link xdpctl made (0: none yet)
	uint32_t prog_id = 0; // the program the link was last known to run
	bool pending = true;  // program/options asked for are not yet known to run

	[[nodiscard]] bool same_intent(const IfState &o) const
	{
		return program.name_or_path == o.program.name_or_path && program.prog == o.program.prog && skb == o.skb &&
		       counters == o.counters && dev_bound == o.dev_bound;
	}
};

struct Egress {
	std::string source; // "" none; else ProgramSource::name_or_path
	std::string prog;
	bool src_mac = false;
	bool operator==(const Egress &) const = default;
};

struct RuleState {
	int in_ifindex = 0;
	std::string in_name;
	int out_ifindex = 0;
	std::string out_name;
	bool realized = false;
	Egress egress;
};

// A port of a group: "bcast" (bcast_ports and bcast_ports_hash) or "mcast0".."mcast3".
struct PortState {
	std::string group;
	int ifindex = 0;
	std::string name;
	bool realized = false;
	Egress egress;
};

struct DesiredState {
	NetnsId netns;
	std::vector<IfState> interfaces;
	std::vector<RuleState> rules;
	std::vector<PortState> ports;

	[[nodiscard]] IfState *find_if(int ifindex);
	[[nodiscard]] RuleState *find_rule(int in_ifindex);
	[[nodiscard]] PortState *find_port(const std::string &group, int ifindex);
	[[nodiscard]] bool empty() const { return interfaces.empty() && rules.empty() && ports.empty(); }

	[[nodiscard]] std::string serialize() const;
	[[nodiscard]] static Result<DesiredState> parse(const std::string &text);
};

// The record of l's namespace; nullopt when none is pinned. Reads without the lock are
// consistent (see above).
[[nodiscard]] Result<std::optional<DesiredState>> read_state(const Layout &l);
// Writes the record (creating and pinning the map, and ROOT/ns<NS>, when absent). Caller holds
// the RootLock. An empty record stays pinned until remove_state: a command killed after writing
// it must not leave pins that look like a namespace xdpctl never recorded.
[[nodiscard]] Status write_state(const Layout &l, const DesiredState &s);
// Unpins the record (the namespace holds nothing of xdpctl's any more).
void remove_state(const Layout &l);

// Test hook, not an interface: with XDPCTL_TEST_KILL_AT_STEP=N in the environment, the N-th step
// boundary the process crosses (every record write, link, pin, unpin and devmap write of a
// reconcile; counted from 1) SIGKILLs the process, so the crash trials of
// tests/loader_converge_test.cpp can stop a command at every point. Unset: a counter increment.
void step_boundary();

} // namespace xdpctl
