// The declarative face of the control plane: a YAML file that describes the whole of one network
// namespace (programs on interfaces, redirect rules, broadcast and multicast groups, the MAC
// table, the monitor), compared with what xdpctl has there, and the difference carried out
// through the same verbs the command line uses (load, unload, redirect_add, ...): each of them
// edits the namespace's recorded desired state and reconciles it (state.hpp), so apply is no
// second engine. What a file can say is only what those verbs can do (docs/apply.md).
//
//   auto c = xdpctl::read_config("ns.yaml");        // syntax and types: FILE:LINE:COLUMN errors
//   auto want = xdpctl::resolve(*c);                // names and patterns against this namespace
//   auto have = xdpctl::observe();                  // the record, checked against the kernel
//   auto steps = xdpctl::diff(*want, *have);        // what would change, in the order it runs
//   auto done = xdpctl::apply(steps);               // all of it, or (undone) none of it
//
// apply_config() is those, with the namespace converged (what `xdpctl repair` does) before it is
// observed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/devmap.hpp"
#include "xdpctl/error.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/registry.hpp"

namespace xdpctl {

// Where a value stands in the file (1-based, as editors count), for messages "FILE:LINE:COLUMN".
struct ConfigMark {
	int line = 0;
	int column = 0;
};

struct ConfigEgress {
	ProgramSource program;
	bool src_mac = false; // DevmapOptions::egress_src_mac
	bool operator==(const ConfigEgress &o) const
	{
		return program.name_or_path == o.program.name_or_path && program.prog == o.program.prog &&
		       src_mac == o.src_mac;
	}
};

// An entry of `interfaces:`: one interface by name, or every interface whose name matches an
// fnmatch(3) pattern (`veth*`, `eth[0-3]`).
struct ConfigInterface {
	std::string name;    // exactly one of name and match is set
	std::string match;
	ProgramSource program;
	AttachMode mode = AttachMode::Native;
	bool counters = true;
	bool dev_bound = false;
	ConfigMark at;
};

struct ConfigRule {
	std::string in, out;
	std::optional<ConfigEgress> egress;
	ConfigMark at;
};

// An entry of `broadcast:` or `multicast.groups:`: ports by name and/or by one pattern, all with
// the same egress program (a group whose ports differ in it has one entry per egress).
struct ConfigPorts {
	uint32_t group = 0; // multicast only
	std::vector<std::string> ports;
	std::vector<ConfigMark> port_at; // where each of ports stands
	std::string match;
	std::optional<ConfigEgress> egress;
	ConfigMark at;
};

struct ConfigMac {
	MacAddr mac{};
	uint32_t group = 0;
	ConfigMark at;
};

struct Config {
	std::string file; // as named to read_config ("-": standard input), for messages
	std::vector<ConfigInterface> interfaces;
	std::vector<ConfigRule> redirects;
	std::vector<ConfigPorts> broadcast;
	std::vector<ConfigPorts> multicast;
	std::vector<ConfigMac> macs;
	bool monitor = false;
};

// Parses and checks a file against the schema (config_schema()) and the rules it cannot express
// (an interface, rule ingress, group port or MAC given twice). Any error: EINVAL, op
// "FILE:LINE:COLUMN", detail what is wrong (the CLI prints "FILE:LINE:COLUMN: detail").
// Relative object file paths are taken relative to the file's directory (stdin: the current one).
[[nodiscard]] Result<Config> parse_config(const std::string &text, const std::string &file);
// Reads path ("-": standard input) and parses it.
[[nodiscard]] Result<Config> read_config(const std::string &path);
// The file's JSON Schema (draft 2020-12), pretty-printed.
[[nodiscard]] std::string config_schema();

// A namespace as apply sees it: every name resolved to a device of this namespace.
struct IfIntent {
	std::string name;
	int ifindex = 0;
	ProgramSource program;
	AttachMode mode = AttachMode::Native;
	bool counters = true;
	bool dev_bound = false;
	[[nodiscard]] bool same_program(const IfIntent &o) const
	{
		return program.name_or_path == o.program.name_or_path && program.prog == o.program.prog &&
		       counters == o.counters;
	}
	[[nodiscard]] bool same_attach(const IfIntent &o) const { return mode == o.mode && dev_bound == o.dev_bound; }
};
struct RuleIntent {
	std::string in, out;
	std::optional<ConfigEgress> egress;
};
struct PortIntent {
	std::string group; // "bcast", or "mcast0".."mcast3" (the record's names, state.hpp)
	std::string name;
	std::optional<ConfigEgress> egress;
};
struct MacIntent {
	MacAddr mac{};
	uint32_t group = 0;
};
struct NamespaceIntent {
	std::vector<IfIntent> interfaces; // sorted by name
	std::vector<RuleIntent> rules;    // sorted by ingress name
	std::vector<PortIntent> ports;    // sorted by group, then name
	std::vector<MacIntent> macs;      // sorted by MAC
	bool monitor = false;         // the monitor runs: all of its pins are there
	bool monitor_partial = false; // only part of its pins: an interrupted start or stop (observe only)
	// interfaces xdpctl runs a program on whose program it cannot name (adopted from an older
	// xdpctl, or a record rebuilt by repair --reset-state): export leaves them out and says so
	std::vector<std::string> unnamed;
	// rules and group ports that run an egress program xdpctl cannot name (a record rebuilt by
	// repair --reset-state): "redirect a0 -> a1", "broadcast port a2", "multicast 1 port a2"; their
	// egress has an empty program (not the same as none), and export leaves them out, saying so
	std::vector<std::string> unnamed_egress;
};

// Resolves the file against the interfaces of this namespace: a name must exist (ENODEV, op
// "FILE:LINE:COLUMN"), a pattern may match none; an interface named takes its own entry, else
// the first pattern (in file order) that matches it. Programs are opened (not loaded) to check
// they exist and are of the right kind. Changes nothing.
[[nodiscard]] Result<NamespaceIntent> resolve(const Config &c);
// What xdpctl has in this namespace now: the recorded desired state, each fact kept only when the
// kernel agrees (the interface runs the recorded link, a rule's devices are still the recorded
// ones), plus the MAC table and whether the monitor is pinned. Changes nothing.
[[nodiscard]] Result<NamespaceIntent> observe();
// The file that describes `have` (export): exact names, groups split by egress program.
[[nodiscard]] Config to_config(const NamespaceIntent &have);
// YAML text of c, which parse_config reads back to the same Config; the same as JSON.
[[nodiscard]] std::string config_yaml(const Config &c);
[[nodiscard]] std::string config_json(const Config &c);

enum class StepOp { Add = '+', Remove = '-', Change = '~' };
enum class StepObject { Interface, Redirect, Broadcast, Multicast, Mac, Monitor };

// One change: what is (from) and what should be (to), per object kind; the fields of the other
// kinds are empty.
struct Step {
	StepOp op = StepOp::Add;
	StepObject object = StepObject::Interface;
	std::optional<IfIntent> if_from, if_to;
	std::optional<RuleIntent> rule_from, rule_to;
	std::optional<PortIntent> port_from, port_to;
	std::optional<MacIntent> mac_from, mac_to;
	bool reattach = false; // an interface whose mode or device binding changes: unload, then load

	// "+ interface veth0: xdp_pass (native, counters on)", "~ redirect veth0: -> veth1 => -> veth2"
	[[nodiscard]] std::string line() const;
};

// A step as JSON: {"op": "+", "object": "interface", "from": ..., "to": ..., "reattach": false,
// "line": Step::line()}; from/to null where there is none.
[[nodiscard]] nlohmann::ordered_json step_json(const Step &s);

// The steps that make have into want, in the order apply runs them: loads and swaps first (a
// devmap entry may need a program of the namespace), then reattaches (a changed mode or device
// binding: unload, load; when one interface alone is reattached, its unload takes the
// namespace's maps, so their entries are removed before it and added after it), then the devmap
// entries (rules, broadcast, multicast, MACs), then unloads, then the monitor. Empty: nothing
// differs.
[[nodiscard]] std::vector<Step> diff(const NamespaceIntent &want, const NamespaceIntent &have);

// Runs the steps through the library's verbs, one after the other; when one fails, the steps
// already run are undone in reverse (a Txn of their inverse verbs) and its error returned. An
// undone swap is a fresh instance of the old program on the same link (its counters restart).
// The levels of ROOT it had to create go too (a failed apply on a namespace without any leaves
// none). Returns the steps run.
[[nodiscard]] Result<std::vector<Step>> apply(const std::vector<Step> &steps);

// The whole of `xdpctl apply`: resolve (a file naming what is not here changes nothing), then
// repair() (what it finds goes to the convergence observer, loader.hpp), observe, diff, apply.
[[nodiscard]] Result<std::vector<Step>> apply_config(const Config &c);

} // namespace xdpctl
