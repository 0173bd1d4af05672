// What both control map backends do the same way, so that they agree by construction:
//   - the checks of an update's head (command, value.ifindex, enable_md) with one clear message;
//   - what only user space can know about a device: the per-action counters of xdpctl's pinned
//     xdpctl_stats map, the tracepoint monitor's error counts, the BTF of the metadata program;
//   - SETUP_MD, which attaches a program: the kernel module cannot load one, so the kernel
//     backend delegates it here and still answers lookups itself.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "xdpctl/ctlmap.h"
#include "xdpctl/error.hpp"

namespace xdpctl::ctl::detail {

inline constexpr const char *kMetaProgName = "xdp_meta_kfunc";

// EINVAL for an update the type does not take (XDP_STATS is read only, a command not the
// type's, value.ifindex neither 0 nor the key, enable_md not 0/1). value is value_size(type).
[[nodiscard]] Status check_update(uint32_t type, uint32_t ifindex, std::span<const std::byte> value);

// The ids of the programs attached in any mode, each once.
[[nodiscard]] std::vector<uint32_t> distinct_prog_ids(std::initializer_list<uint32_t> ids);

// xdp[] from ROOT/ns<NS>/if<IFINDEX>/xdpctl_stats when that map belongs to one of prog_ids
// (a stale pin counts for nothing); sets BPF_CTRL_STATS_XDP_ACTIONS. ns_dir: ROOT/ns<NS>, or
// the calling thread's (current_layout()) when empty.
void add_action_stats(uint32_t ifindex, const std::vector<uint32_t> &prog_ids, struct bpf_ctrl_xdp_stats &s,
		      const std::string &ns_dir = {});

// The tracepoint monitor's counts of one device.
struct MonitorCounts {
	uint64_t exceptions = 0, redirect_errors = 0, xmit_sent = 0, xmit_drops = 0;
};
// Every device's counts from ns_dir/monitor/ in one pass over the monitor's maps; nullopt when
// none of them is pinned (the monitor does not run).
[[nodiscard]] std::optional<std::unordered_map<uint32_t, MonitorCounts>> read_monitor(const std::string &ns_dir);
// Puts one device's counts (none: 0) into s and sets BPF_CTRL_STATS_XDP_ERRORS, when the
// monitor runs (all is not nullopt).
void apply_monitor(const std::optional<std::unordered_map<uint32_t, MonitorCounts>> &all, uint32_t ifindex,
		   struct bpf_ctrl_xdp_stats &s);
// Both for one device of the calling thread's namespace.
void add_monitor_stats(uint32_t ifindex, struct bpf_ctrl_xdp_stats &s);

// When prog_id is the metadata program (xdp_meta_kfunc): enable_md, prog_id, md_btf_obj_id,
// md_btf_type_id (struct xdpctl_meta in the program's BTF) and md_size. False otherwise.
bool add_md_prog(uint32_t prog_id, struct bpf_ctrl_xdp_md &m);

// SETUP_MD on ifname: `on` loads xdp_meta_kfunc bound to the device through the loader
// (pinned link, so it outlives the process like `xdpctl load`); `off` unloads it and its pins.
// md is the device's XDP_MD now. EALREADY: on while on, off while off.
[[nodiscard]] Status setup_md(const std::string &ifname, const struct bpf_ctrl_xdp_md &now, bool on);

} // namespace xdpctl::ctl::detail
