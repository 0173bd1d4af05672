// Redirect-target readiness. A veth only delivers XDP_REDIRECTed frames when its peer runs NAPI,
// i.e. the peer has an XDP program or GRO enabled; otherwise they are dropped silently. Other
// devices are taken as ready (their driver's ndo_xdp_xmit decides).
#pragma once

#include <string>

#include "xdpctl/error.hpp"

namespace xdpctl {

enum class ReadyPolicy {
	Gro,     // enable GRO on the veth peer (no program needed)
	XdpPass, // load xdp_pass (through xdpctl, pinned and owned) on the veth peer
	Refuse,  // change nothing; fail with the reason
};

struct Readiness {
	bool ready = false;
	bool is_veth = false;
	int peer_ifindex = 0;          // in the peer's namespace; 0 when unknown
	std::string peer_name;         // "" when unknown
	bool peer_in_other_ns = false; // IFLA_LINK_NETNSID was reported
	// The peer's named namespace (ip netns, /run/netns/NAME) when it is not this one: readiness is
	// read and made there. A peer in an unnamed namespace is unknown (peer_ifindex 0, not ready).
	std::string peer_netns;
	bool peer_has_xdp = false;
	bool peer_gro = false;
	std::string reason; // why it is (not) ready, in words
};

// Reads the device's kind and peer with one RTM_GETLINK (libmnl), the peer's XDP program and GRO.
[[nodiscard]] Result<Readiness> redirect_target_readiness(int ifindex);
// Makes ifindex a working redirect target per the policy, or fails saying why it is not one.
[[nodiscard]] Result<Readiness> make_redirect_target_ready(int ifindex, ReadyPolicy policy);

// GRO on or off through SIOCETHTOOL (ETHTOOL_SGRO).
[[nodiscard]] Status set_gro(const std::string &ifname, bool on);
// GRO of a readiness' peer, in the peer's namespace.
[[nodiscard]] Status set_peer_gro(const Readiness &r, bool on);

} // namespace xdpctl
