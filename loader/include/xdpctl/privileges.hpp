// What a call of libxdpctl needs of its caller, checked before it touches anything: root (what
// xdpctl keeps on the bpffs is root-only, bpffs.hpp) and the capabilities its syscalls need. A
// caller without them gets one line naming what is missing, and nothing is created.
//
//   CAP_BPF        load programs, create maps
//   CAP_NET_ADMIN  attach and detach XDP programs (networking program types)
//   CAP_SYS_ADMIN  turn program, map and link ids into fds (names, ids and devmap entries shown)
//   CAP_PERFMON    tracing programs (the tracepoint monitor)
#pragma once

#include <string>

#include "xdpctl/error.hpp"

namespace xdpctl {

enum Cap : unsigned {
	kCapBpf = 1U << 0,
	kCapNetAdmin = 1U << 1,
	kCapSysAdmin = 1U << 2,
	kCapPerfmon = 1U << 3,
};

// What each verb needs besides root.
inline constexpr unsigned kLoadCaps = kCapBpf | kCapNetAdmin | kCapSysAdmin;    // load, repair, demo, ctl setup-md
inline constexpr unsigned kUnloadCaps = kCapNetAdmin | kCapSysAdmin;            // unload
inline constexpr unsigned kDevmapCaps = kCapBpf | kCapNetAdmin | kCapSysAdmin;  // redirect/broadcast/multicast
inline constexpr unsigned kReadCaps = kCapSysAdmin; // status, stats, monitor show, diff, export, ctl stats
inline constexpr unsigned kMonitorCaps = kCapBpf | kCapPerfmon;                 // monitor start
inline constexpr unsigned kMonitorStopCaps = 0;                                 // monitor stop: root only

// EPERM (op "permission denied") naming what is missing when the effective uid is not 0 or an
// effective capability of caps is not held; `what` names the call ("load", "monitor start").
[[nodiscard]] Status require_privileges(const std::string &what, unsigned caps);

} // namespace xdpctl
