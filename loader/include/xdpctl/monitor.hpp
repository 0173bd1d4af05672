// The tracepoint monitor (bpf/xdp_monitor.bpf.c): load it filtered to one network namespace,
// attach it to the xdp: tracepoints this kernel has, and read its three maps summed over CPUs.
//
//   auto l = xdpctl::current_layout();            // bpffs.hpp: its netns is the calling thread's
//   auto mon = xdpctl::Monitor::start(l->netns);
//   ...
//   auto counts = mon->read();
//   counts->exceptions_of(ifindex, XDP_ABORTED);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"

struct xdp_monitor;

namespace xdpctl
{

struct MonException {
	uint32_t ifindex = 0;
	uint32_t action = 0; // XDP_ABORTED, or the invalid verdict a program returned
	uint64_t count = 0;
	friend bool operator==(const MonException &, const MonException &) = default;
};

struct MonRedirectError {
	uint32_t ifindex = 0; // the device the program ran on
	uint32_t err = 0;     // positive errno
	uint64_t count = 0;
	friend bool operator==(const MonRedirectError &, const MonRedirectError &) = default;
};

struct MonXmit {
	uint32_t from_ifindex = 0;
	uint32_t to_ifindex = 0;
	uint64_t sent = 0;
	uint64_t drops = 0;
	uint64_t errors = 0; // ndo_xdp_xmit calls that failed as a whole
	friend bool operator==(const MonXmit &, const MonXmit &) = default;
};

struct MonitorCounts {
	std::vector<MonException> exceptions;
	std::vector<MonRedirectError> redirect_errors;
	std::vector<MonXmit> xmit;

	// 0 (or an all-zero MonXmit) when nothing was counted for that key.
	[[nodiscard]] uint64_t exceptions_of(uint32_t ifindex, uint32_t action) const;
	[[nodiscard]] uint64_t redirect_errors_of(uint32_t ifindex, uint32_t err) const;
	[[nodiscard]] MonXmit xmit_of(uint32_t from_ifindex, uint32_t to_ifindex) const;
};

// Reads the monitor's maps by fd (e.g. opened from their pins), summed over all possible CPUs,
// sorted by key.
[[nodiscard]] Result<MonitorCounts> read_monitor_maps(int exc_fd, int rerr_fd, int xmit_fd);

// The monitor of the calling thread's network namespace, pinned in the bpffs layout
// (ROOT/ns<NS>/monitor, bpffs.hpp) so that it counts with no process running: what `xdpctl
// monitor start|show|stop` does, and where the control map's XDP_STATS finds the error counts.
// start and stop converge, as `ip link set up` and `systemctl start` do: a start with one running
// and a stop with none change nothing and succeed, saying so; a monitor that a start or stop
// killed midway left half pinned (Partial) is finished by either: stop removes what is left,
// start removes it and pins a whole new one. show refuses a Partial one, saying how to finish it.
struct PinnedMonitor {
	std::vector<std::string> tracepoints;
	MonitorCounts counts;
};
enum class MonitorPins {
	None,    // nothing pinned
	Running, // its three maps and the link of every xdp: tracepoint this kernel has
	Partial, // some of those: an interrupted start or stop
};
struct MonitorStart {
	std::vector<std::string> tracepoints;
	bool already = false;             // one was running: left as it was (its counts kept)
	std::vector<std::string> removed; // the pins of a Partial one, removed before the new one
};
// Starts and pins it (or finds it running). A start that fails leaves nothing: no pin, and no level
// of ROOT it created.
[[nodiscard]] Result<MonitorStart> start_pinned_monitor();
// ENOENT when none is pinned, or only part of one.
[[nodiscard]] Result<PinnedMonitor> read_pinned_monitor();
// What is pinned, for callers that report on it (unload --all). Needs what monitor show needs.
[[nodiscard]] Result<MonitorPins> pinned_monitor_state();
struct MonitorStop {
	bool was_running = false;  // false and half_removed false: none ran, nothing changed
	bool half_removed = false; // only part of one was pinned: removed
};
// Removes its pins (the tracepoints detach with the last pin of their links) and its directory.
[[nodiscard]] Result<MonitorStop> stop_pinned_monitor();

class Monitor
{
public:
	// Loads the monitor counting only devices of the namespace with this inode (0: all) and
	// attaches it. Tracepoints this kernel lacks (xdp_redirect_map_err on 6.18) are skipped.
	[[nodiscard]] static Result<Monitor> start(uint64_t netns_ino);

	Monitor(Monitor &&) noexcept;
	Monitor &operator=(Monitor &&) noexcept;
	~Monitor(); // detaches

	[[nodiscard]] Result<MonitorCounts> read() const;
	// Tracepoints attached, e.g. "xdp_exception".
	[[nodiscard]] const std::vector<std::string> &tracepoints() const { return tracepoints_; }
	[[nodiscard]] int exc_map_fd() const;
	[[nodiscard]] int rerr_map_fd() const;
	[[nodiscard]] int xmit_map_fd() const;

	// Pins the three maps (<MAPNAME>) and one bpf_link per tracepoint (link_<TRACEPOINT>) into
	// dir, so the monitor keeps counting after this process exits. All or nothing: on failure
	// every pin made is removed. EEXIST when dir already holds a monitor.
	[[nodiscard]] Status pin(const std::string &dir) const;

private:
	struct Destroy {
		void operator()(xdp_monitor *s) const noexcept;
	};
	Monitor() = default;
	std::unique_ptr<xdp_monitor, Destroy> skel_;
	std::vector<std::string> tracepoints_;
};

} // namespace xdpctl
