// A capture that returns frames as they were on the wire. The receive path moves the outermost
// VLAN tag of an arriving frame into skb metadata before AF_PACKET sees it, so Capture would
// show a tagged frame untagged. WireCapture asks for PACKET_AUXDATA and puts the tag back
// where it was (as libpcap does), so tests that push or pop tags can compare byte for byte.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "packet.hpp"

namespace xt {

class WireCapture {
public:
	// Every frame received on ifname (in the calling thread's namespace) from now on.
	explicit WireCapture(const std::string &ifname);
	~WireCapture();
	WireCapture(const WireCapture &) = delete;
	WireCapture &operator=(const WireCapture &) = delete;

	// Frames kept by `keep` (all when empty), returned as soon as `want` of them arrived or when
	// `wait` is over, whichever is first. want = 0 waits the whole time (to show that nothing
	// came).
	std::vector<Bytes> drain(size_t want, std::chrono::milliseconds wait,
				 const std::function<bool(const Bytes &)> &keep = {});

private:
	int fd_ = -1;
};

// For `keep`: the destination MAC is `dst` (frames of a test, not the kernel's own chatter).
std::function<bool(const Bytes &)> to_mac(const Mac &dst);

} // namespace xt
