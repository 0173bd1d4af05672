// Attaching XDP programs to test interfaces, and making a veth a ready XDP_REDIRECT target.
//
// A veth transmits redirected frames (ndo_xdp_xmit) only when its PEER can receive them in
// NAPI: the peer runs an XDP program, or has GRO on. Otherwise the kernel refuses to transmit
// (xdp:xdp_redirect_err with -EOPNOTSUPP, see redirect_probe.hpp) and the frames are dropped. Redirect tests make every egress port ready like this:
//
//   auto ready = attach_xdp_pass(v.peer_ifindex);   // frames redirected into v.name now arrive
//   ASSERT_TRUE(ready) << ready.error().message();  // at v.peer, where a Capture sees them
#pragma once

#include <linux/if_link.h>

#include <cstdint>
#include <string>

#include "xdpctl/error.hpp"
#include "xdpctl/fd.hpp"

namespace xt {

// An XDP program attached to one interface through a bpf_link. The link holds the program, so
// the skeleton that loaded it may be destroyed; the destructor (or detach()) closes the link,
// which detaches the program whatever namespace the thread is in by then.
class XdpLink {
public:
	XdpLink() = default;

	// ifindex in the calling thread's namespace. mode: XDP_FLAGS_DRV_MODE (native),
	// XDP_FLAGS_SKB_MODE (generic) or 0 (native where the driver has it).
	static xdpctl::Result<XdpLink> attach(int prog_fd, int ifindex, uint32_t mode = XDP_FLAGS_DRV_MODE);

	[[nodiscard]] int fd() const { return link_.get(); }
	[[nodiscard]] explicit operator bool() const { return static_cast<bool>(link_); }
	void detach() { link_.reset(); }

private:
	xdpctl::Fd link_;
};

// Loads xdp_pass (bpf/xdp_pass.bpf.c) and attaches it natively to ifindex. Attach it to the peer
// of the veth end you redirect into.
xdpctl::Result<XdpLink> attach_xdp_pass(int ifindex);

// The other way to make a veth a ready target: GRO on its peer (as `ethtool -K IFNAME gro on|off`,
// through the ethtool ioctl). Fails the current test when the kernel refuses.
bool set_gro(const std::string &ifname, bool on);

} // namespace xt
