// Real traffic for netns tests, and the kernel's own view of it: raw frames sent out of an
// interface (AF_PACKET), and `ip -s -j link` parsed, to compare against what the library reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "packet.hpp"

namespace xt {

// Sends `frame` out of `ifname` `count` times; returns how many sends succeeded.
int send_frames(const std::string &ifname, const Bytes &frame, int count);

// The 64-bit link counters as `ip -s -j link show dev IFNAME` prints them.
struct IpLinkStats {
	uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
	uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
};
std::optional<IpLinkStats> ip_link_stats(const std::string &ifname);

} // namespace xt
