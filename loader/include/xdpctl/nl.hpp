// Netlink on libmnl: the three families the control map's user-space backend reads and writes.
//   rtnetlink  RTM_GETLINK (dump for iteration, doit for one device): name, kind, flags,
//              IFLA_STATS64, IFLA_XDP (attach mode, prog ids), IFLA_LINK (a veth's peer)
//   genl netdev  dev-get (xdp-features, xdp-rx-metadata-features, xsk-features), qstats-get
//   genl ethtool rings, channels, features (get and set)
// Every call works in the network namespace of the calling thread at the time the socket was
// opened. Kernel errors come back as Error{errno, op, object, extack message}.
#pragma once

#include <linux/if_link.h>
#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"

struct mnl_socket;

namespace xdpctl::nl {

// One netlink socket (NETLINK_ROUTE or NETLINK_GENERIC) with extended ACK turned on.
class Socket {
public:
	[[nodiscard]] static Result<Socket> open(int bus);

	// Sends `req` (its nlmsg_seq is set here) and hands every reply to `cb` until the dump's
	// NLMSG_DONE or the request's ACK. An NLMSG_ERROR becomes Error{errno, op, object, extack}.
	using Callback = std::function<void(const struct nlmsghdr *)>;
	[[nodiscard]] Status transact(struct nlmsghdr *req, const Callback &cb, const std::string &op,
				      const std::string &object = {});

private:
	struct Close {
		void operator()(struct mnl_socket *s) const noexcept;
	};
	std::unique_ptr<struct mnl_socket, Close> sock_;
	int bus_ = 0;
	uint32_t portid_ = 0;
	uint32_t seq_ = 0;
	bool broken_ = false; // a transaction failed midway: reopen before the next one
};

// One RTM_NEWLINK as rtnetlink reports it.
struct Link {
	uint32_t ifindex = 0;
	std::string name;
	std::string kind; // IFLA_INFO_KIND: "veth", "bridge", ... empty for a physical device
	uint32_t flags = 0; // IFF_*
	std::optional<struct rtnl_link_stats64> stats64;
	bool xdp_known = false; // IFLA_XDP present
	uint8_t xdp_attached = 0; // XDP_ATTACHED_*
	uint32_t xdp_prog_id = 0, xdp_drv_prog_id = 0, xdp_skb_prog_id = 0, xdp_hw_prog_id = 0;
	uint32_t link = 0; // IFLA_LINK: a veth's peer ifindex
	bool link_other_netns = false; // IFLA_LINK_NETNSID: the peer lives in another namespace
};

class Rtnl {
public:
	[[nodiscard]] static Result<Rtnl> open();
	[[nodiscard]] Result<std::vector<Link>> dump_links();
	// ENODEV when no device has that ifindex.
	[[nodiscard]] Result<Link> get_link(uint32_t ifindex);

private:
	Socket sock_;
};

struct NetdevDev {
	uint64_t xdp_features = 0;
	uint64_t xdp_rx_metadata_features = 0;
	bool has_xdp_rx_metadata_features = false; // 6.3+
	uint64_t xsk_features = 0;
	bool has_xsk_features = false; // 6.8+
	std::optional<uint32_t> xdp_zc_max_segs; // only sent for devices with xsk-zerocopy
};

struct QStats {
	uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
};

struct Rings {
	uint32_t rx_max = 0, tx_max = 0, rx = 0, tx = 0;
};

struct Channels {
	uint32_t rx_max = 0, tx_max = 0, other_max = 0, combined_max = 0;
	uint32_t rx = 0, tx = 0, other = 0, combined = 0;
};

// Generic netlink: families resolved once through nlctrl, then netdev and ethtool requests.
class Genl {
public:
	[[nodiscard]] static Result<Genl> open();
	// The family id; ENOENT when this kernel has no such family.
	[[nodiscard]] Result<uint16_t> family(const std::string &name);

	// netdev dev-get. ENOENT (family absent: kernel < 6.3) or ENODEV.
	[[nodiscard]] Result<NetdevDev> netdev_dev_get(uint32_t ifindex);
	// netdev qstats-get, device scope. nullopt: the family, the command or the driver has none.
	[[nodiscard]] Result<std::optional<QStats>> netdev_qstats_get(uint32_t ifindex);
	// The same for every device of the namespace, one dump each (keyed by ifindex): what a walk
	// over all devices asks instead of one request per device. A device without qstats is absent
	// from the qstats map, which is empty where the kernel has no qstats-get.
	[[nodiscard]] Result<std::map<uint32_t, NetdevDev>> netdev_dev_dump();
	[[nodiscard]] Result<std::map<uint32_t, QStats>> netdev_qstats_dump();

	// ethtool. A driver without the operation answers EOPNOTSUPP.
	[[nodiscard]] Result<Rings> rings_get(uint32_t ifindex);
	[[nodiscard]] Status rings_set(uint32_t ifindex, std::optional<uint32_t> rx, std::optional<uint32_t> tx);
	[[nodiscard]] Result<Channels> channels_get(uint32_t ifindex);
	[[nodiscard]] Status channels_set(uint32_t ifindex, std::optional<uint32_t> rx, std::optional<uint32_t> tx,
					  std::optional<uint32_t> combined);
	// A feature by its ethtool name ("rx-gro"): whether it is active now.
	[[nodiscard]] Result<bool> feature_active(uint32_t ifindex, const std::string &name);
	[[nodiscard]] Status feature_set(uint32_t ifindex, const std::string &name, bool on);

private:
	Socket sock_;
	std::map<std::string, uint16_t> families_;
};

} // namespace xdpctl::nl
