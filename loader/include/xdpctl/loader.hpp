// Attaching programs to interfaces through pinned bpf_links, replacing them atomically, and
// detaching them leaving nothing behind. Every call here takes the RootLock, first converges the
// namespace to its recorded desired state (state.hpp: devices that went take their pins and
// rules with them, a command that was killed is finished), then records the new intent and
// makes it true. A call that fails changes nothing (it closes and unpins what it made, restores
// what it replaced and the record); a call killed at any point is finished by the next call.
#pragma once

#include <cstdint>
#include <functional>
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
	bool replace = false;   // swap the program of a link xdpctl owns (bpf_link_update), even for the same one
	// false (`--no-stats`): the instances keep no per-action counters; the verifier drops the
	// counting code (the program's xdpctl_stats_on, include/xdpctl/stats.h). EINVAL for a program
	// without that switch.
	bool counters = true;
	// false: no mode was asked for (the CLI without -m). An interface xdpctl already loaded then
	// keeps the mode its link has (a bpf_link keeps its mode for life: --replace swaps the
	// program, never the mode), a new one gets Native. true: mode is asked for, and a mode other
	// than the one an interface's link has is refused (EEXIST: unload it first), --replace or not.
	bool mode_given = true;
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
	bool already = false; // it was in place before the call: nothing changed
};

// Loads one program instance per interface and attaches it; pins per the bpffs layout. The
// attaches run on a second thread while the next instances load (see loader_attach.cpp).
[[nodiscard]] Result<std::vector<Attached>> load(const LoadRequest &req);

enum class DetachState {
	Unloaded,  // detached, pins removed
	Gone,      // the device was removed: its pins and rules were cleaned
	Moved,     // the device moved to another namespace with its link: left attached there
	NotLoaded, // had no program: nothing to do
	Failed,    // a load that was killed could not be finished; detail says why
	Finished,  // a load or replace that was killed was finished: prog now runs on the interface
	Entry,     // a devmap change that was killed was finished; detail says which entry and where
	Leftover,  // pins a deleted namespace left under the inode this one reuses were removed; detail says what
	Removed,   // unload: a redirect rule or group port naming an interface it unloaded went with it; detail says which
};

struct Detached {
	std::string ifname; // "" for a removed interface whose pins were cleaned
	int ifindex = 0;    // for Moved: the ifindex in the namespace it moved to
	std::string prog;
	DetachState state = DetachState::Unloaded;
	std::string detail;
};

// Every command first converges the namespace: what a killed command left half done is finished,
// what devices that went left behind is removed. unload and repair return those steps at the
// head of their result; load, redirect, broadcast and multicast have no place for them in theirs,
// so each step they take is handed to this observer (the CLI prints it), as it is taken. Empty
// (the default): not reported. Not thread-safe: set it before the first call.
void set_convergence_observer(std::function<void(const Detached &)> observer);

// Detaches xdpctl's program from each interface and removes its pins; shared maps and the
// namespace directory go once no interface uses them. An interface without a program is fine
// (NotLoaded); one that moved here with its link from another namespace is detached and its pins
// there removed. Fails (changing nothing) if an interface is unknown or runs a program that is
// not xdpctl's. The redirect rules with an unloaded interface as ingress or egress and its group
// ports go in the same intent (Removed, one each, after the interfaces; all of them once no
// interface is left); an interface without a program (NotLoaded) keeps its rules and ports. The
// result starts with what the convergence found (Gone, Moved).
[[nodiscard]] Result<std::vector<Detached>> unload(const std::vector<std::string> &interfaces);
// Every interface xdpctl loaded in this namespace, including ones that were removed meanwhile;
// links that moved to another namespace stay there (reported Moved).
[[nodiscard]] Result<std::vector<Detached>> unload_all();
// Converges the namespace to its recorded desired state without knowing what was interrupted
// (what every other call does first); returns what it found and did.
[[nodiscard]] Result<std::vector<Detached>> repair();
// The way out of a corrupt state record (state.hpp; every state-changing verb refuses to work past
// one, saying so): unpins the record under the lock, then repair() rebuilds it from what the
// kernel shows, as for a namespace without one: the links pinned here and attached (with their
// program, mode and counters), the redirect rules and group ports in the devmaps. Lost: the name
// or path each program was loaded as (a later `load` of it needs --replace) and the intent of a
// command that was interrupted (its half-done work is kept as found, or undone by the repair).
struct StateReset {
	bool removed = false; // a record was pinned (and was removed)
	std::string pin;      // ROOT/ns<NS>/state
	size_t interfaces = 0, rules = 0, ports = 0; // in the rebuilt record
	std::vector<Detached> steps;                 // what the repair did
};
[[nodiscard]] Result<StateReset> reset_state();

} // namespace xdpctl
