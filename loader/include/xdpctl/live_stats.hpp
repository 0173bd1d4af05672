// Live per-action counters of the programs xdpctl attached, for `xdpctl stats` and the demo.
//
// Read through the control map's XDP_STATS (user-space backend): per device, the per-CPU
// xdpctl_stats map pinned at ROOT/ns<NS>/if<IFINDEX>/ summed over CPUs, counted only while that
// map belongs to the program attached now; with it the netdev's own rx/tx counters and, when
// the tracepoint monitor runs, its error counts. A program whose object has no xdpctl_stats map
// (an object file of the user's) has no per-action counters: for it, what the kernel counts of
// its runs (bpf_prog_info run_cnt, run_time_ns). Samples are absolute counters; rates are the
// difference of two samples over the time between them.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/ctlmap.hpp"
#include "xdpctl/error.hpp"

namespace xdpctl {

// Index = XDP action (XDP_ABORTED..XDP_REDIRECT), as in include/xdpctl/stats.h.
inline constexpr std::array<const char *, 5> kXdpActionNames = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};

struct PacketCount {
	uint64_t packets = 0, bytes = 0;
};

struct LinkCounters {
	uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
	uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
};

struct MonitorCounters {
	uint64_t exceptions = 0, redirect_errors = 0, devmap_xmit_sent = 0, devmap_xmit_drops = 0;
};

// The kernel's count of a program's runs and the time they took (bpf_prog_info run_cnt,
// run_time_ns). It counts only while sysctl kernel.bpf_stats_enabled is 1 (a process holding
// BPF_ENABLE_STATS turns it to 1 too).
struct RunCounters {
	uint64_t count = 0, time_ns = 0;
	bool enabled = false; // kernel.bpf_stats_enabled read 1 when this sample was taken
};

struct IfCounters {
	int ifindex = 0;
	std::string ifname;
	std::string prog; // the attached program's name
	std::array<PacketCount, 5> xdp{};
	// set for a program whose object has no xdpctl_stats map: xdp[] is not counted (all zero)
	std::optional<RunCounters> run;
	std::optional<LinkCounters> link;       // absent when rtnetlink gave no stats64
	std::optional<MonitorCounters> monitor; // absent when the tracepoint monitor does not run
};

struct StatsSample {
	std::chrono::steady_clock::time_point at;
	std::vector<IfCounters> interfaces;
};

class StatsReader {
public:
	// The interfaces to watch, in the calling thread's namespace. Empty: every interface that
	// runs a program xdpctl attached with its counters on (ENOENT when there is none, ENODATA
	// when every one has them off). A named interface that does not exist (ENODEV), runs no
	// program of xdpctl (ENOENT) or runs one loaded with --no-stats (ENODATA) is an error. One
	// whose program's object has no xdpctl_stats map is watched through the kernel's run count
	// (Watched::counted false, IfCounters::run).
	[[nodiscard]] static Result<StatsReader> open(const std::vector<std::string> &ifnames);

	// One reading of every watched interface. Fails when an interface vanished or its program
	// was detached since open().
	[[nodiscard]] Result<StatsSample> sample();

	struct Watched {
		int ifindex;
		std::string ifname, prog;
		uint32_t prog_id = 0;
		bool counted = true; // false: its object has no xdpctl_stats map (the run count instead)
	};
	[[nodiscard]] const std::vector<Watched> &interfaces() const { return ifs_; }
	// Interfaces left out of an open() without names: their program was loaded with --no-stats.
	[[nodiscard]] const std::vector<std::string> &counters_off() const { return off_; }

private:
	StatsReader(ctl::ControlMap m, std::vector<Watched> ifs, std::vector<std::string> off)
	    : map_(std::move(m)), ifs_(std::move(ifs)), off_(std::move(off))
	{
	}
	ctl::ControlMap map_;
	std::vector<Watched> ifs_;
	std::vector<std::string> off_;
};

// 1234 -> "1.23k", 5600000 -> "5.60M", 12 -> "12": rates at a glance, as xdp-bench prints them.
[[nodiscard]] std::string si(double v);

} // namespace xdpctl
