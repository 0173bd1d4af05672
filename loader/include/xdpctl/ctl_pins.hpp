// Where the control map's user-space backend finds the counters of xdpctl's programs: the
// bpffs layout the loader pins into (shared contract, see BRIEF/DESIGN):
//   ROOT/ns<NS>/if<IFINDEX>/xdpctl_stats   per-interface per-action counters (stats.h)
//   ROOT/ns<NS>/monitor/<MAPNAME>          the tracepoint monitor's maps (monitor.h)
// ROOT is $XDPCTL_BPFFS or /sys/fs/bpf/xdpctl; NS the inode of the calling thread's netns.
#pragma once

#include <cstdint>
#include <string>

#include "xdpctl/error.hpp"

namespace xdpctl::ctl {

[[nodiscard]] std::string bpffs_root();
[[nodiscard]] Result<uint64_t> netns_inode();
// ROOT/ns<NS>
[[nodiscard]] Result<std::string> bpffs_ns_dir();

} // namespace xdpctl::ctl
