// What the kernel reports about XDP on one device, gathered in one place for `xdpctl features`:
// the netdev genl family's dev-get (xdp-features, zero-copy max segments, xdp-rx-metadata-
// features, xsk-features), rtnetlink's IFLA_XDP (attached programs and modes) and ethtool netlink
// (rings, channels). Every field is either a value the kernel gave or the reason it has none
// (`unavailable`), never a guess: a 6.1 kernel has no netdev family at all, 6.3 has no
// rx-metadata features, drivers without ethtool ring ops answer EOPNOTSUPP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"
#include "xdpctl/netdev.hpp"

namespace xdpctl {

// A value the kernel reported, or why there is none.
template <class T>
struct Reported {
	std::optional<T> value;
	std::string unavailable; // set exactly when value is empty

	static Reported of(T v) { return {std::move(v), {}}; }
	static Reported none(std::string why) { return {std::nullopt, std::move(why)}; }
};

struct AttachedProg {
	const char *mode; // "native", "skb", "hw"
	uint32_t prog_id = 0;
	std::string name;
};

struct RingSizes {
	uint32_t rx = 0, rx_max = 0, tx = 0, tx_max = 0;
};

struct ChannelCounts {
	uint32_t rx = 0, rx_max = 0, tx = 0, tx_max = 0, combined = 0, combined_max = 0;
};

struct DeviceFeatures {
	int ifindex = 0;
	std::string ifname;
	Reported<uint64_t> xdp_features;             // NETDEV_XDP_ACT_* bits
	Reported<uint32_t> xdp_zc_max_segs;          // sent only for devices with xsk-zerocopy
	Reported<uint64_t> xdp_rx_metadata_features; // NETDEV_XDP_RX_METADATA_* bits
	Reported<uint64_t> xsk_features;             // NETDEV_XSK_FLAGS_* bits
	Reported<std::vector<AttachedProg>> programs;
	Reported<RingSizes> rings;
	Reported<ChannelCounts> channels;
};

// ifname in the calling thread's namespace; the error (ENODEV) says when it is not there.
// Everything else that cannot be read lands in the fields' `unavailable`.
[[nodiscard]] Result<DeviceFeatures> device_features(const std::string &ifname);

// The kernel's names of the bits (the netdev family's spec: "basic", "redirect", ... "timestamp",
// "hash", "vlan-tag", "tx-timestamp", ...); bits this build has no name for print as "bit<N>".
[[nodiscard]] std::vector<std::string> xdp_feature_names(uint64_t bits);
[[nodiscard]] std::vector<std::string> rx_metadata_feature_names(uint64_t bits);
[[nodiscard]] std::vector<std::string> xsk_feature_names(uint64_t bits);

} // namespace xdpctl
