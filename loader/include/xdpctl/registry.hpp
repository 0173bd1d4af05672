// The program collection as the loader knows it: one entry per program a user can name
// (`xdpctl load NAME IFNAME`). Adding a program of bpf/ is one entry in loader/src/registry.cpp.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"
#include "xdpctl/object.hpp"

namespace xdpctl {

enum class ProgKind {
	Xdp,          // attached to an interface (BPF_XDP)
	DevmapEgress, // SEC("xdp/devmap"): only ever put into a devmap entry
};

struct ProgramSpec {
	std::string name;       // what users type; unique in the registry
	std::string collection; // bpf/<collection>.bpf.c, skeleton struct <collection>
	std::string prog;       // the program inside the collection
	std::string summary;    // one line for `xdpctl load --list`
	ProgKind kind = ProgKind::Xdp;
	bool dev_bound = false;              // must be loaded bound to the device (RX metadata kfuncs)
	std::vector<std::string> if_maps;    // pinned at ROOT/ns<NS>/if<IFINDEX>/, one per instance
	std::vector<std::string> shared_maps; // pinned at ROOT/ns<NS>/maps/, reused by every instance
	Result<Object> (*open)(const std::string &name) = nullptr; // open_skeleton_object<S>
};

// Every program of the collection this build has a skeleton for.
[[nodiscard]] std::span<const ProgramSpec> registry();
[[nodiscard]] const ProgramSpec *find_program(const std::string &name);

// Where a program to load comes from: a registry entry, or an object file and optionally the
// program in it (default: its only / first XDP program of the right kind).
struct ProgramSource {
	std::string name_or_path; // registry name, or a path (contains '/' or ends in .o)
	std::string prog;         // object files only: which program

	[[nodiscard]] bool is_file() const;
};

// What a load of one program instance needs to know, resolved from a ProgramSource.
struct ResolvedProgram {
	Object obj;
	bpf_program *prog = nullptr;
	std::string name;                     // for messages and status
	std::vector<std::string> if_maps;     // see ProgramSpec
	std::vector<std::string> shared_maps;
	ProgKind kind = ProgKind::Xdp;
	bool dev_bound = false;
};

// Opens (does not load) the program: looks the name up in the registry (error "unknown program"
// listing the known ones) or opens the file and checks it has an XDP program of `want` kind.
// Every other program of the object is set not to load.
[[nodiscard]] Result<ResolvedProgram> resolve_program(const ProgramSource &src, ProgKind want);

} // namespace xdpctl
