// A device's ethtool statistics (`ethtool -S`), read through the SIOCETHTOOL ioctl: no ethtool
// binary and no fork, so benchmarks can read them between samples.
//
//   auto st = xt::ethtool_stats("d0");                  // in the calling thread's namespace
//   uint64_t ran = xt::rx_queue_sum(st, "xdp_packets"); // veth: frames its XDP program ran on
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace xt {

// Every counter of the device by name; throws std::runtime_error when the device is unknown or
// the driver has no statistics.
std::map<std::string, uint64_t> ethtool_stats(const std::string &ifname);

// The sum over queues of veth's per-queue counter rx_queue_<n>_<what>.
uint64_t rx_queue_sum(const std::map<std::string, uint64_t> &stats, const std::string &what);

} // namespace xt
