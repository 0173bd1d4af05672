#include "wire_capture.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace xt {

WireCapture::WireCapture(const std::string &ifname)
{
	fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd_ < 0)
		throw std::runtime_error(std::string("socket(AF_PACKET): ") + std::strerror(errno));
	int one = 1;
	struct sockaddr_ll sll {};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
	if (setsockopt(fd_, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) || !sll.sll_ifindex ||
	    bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof(sll))) {
		std::string why = std::strerror(errno);
		close(fd_);
		throw std::runtime_error("capture on " + ifname + ": " + why);
	}
}

WireCapture::~WireCapture()
{
	if (fd_ >= 0)
		close(fd_);
}

std::vector<Bytes> WireCapture::drain(size_t want, std::chrono::milliseconds wait,
				      const std::function<bool(const Bytes &)> &keep)
{
	std::vector<Bytes> frames;
	auto deadline = std::chrono::steady_clock::now() + wait;
	while (want == 0 || frames.size() < want) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			break;
		struct pollfd pfd {fd_, POLLIN, 0};
		if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
			break;
		for (;;) {
			Bytes buf(65536);
			struct sockaddr_ll from {};
			alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
			struct iovec iov {buf.data(), buf.size()};
			struct msghdr msg {};
			msg.msg_name = &from;
			msg.msg_namelen = sizeof(from);
			msg.msg_iov = &iov;
			msg.msg_iovlen = 1;
			msg.msg_control = cbuf;
			msg.msg_controllen = sizeof(cbuf);
			ssize_t n = recvmsg(fd_, &msg, 0);
			if (n < 0)
				break;
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			buf.resize(static_cast<size_t>(n));
			for (auto *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
				if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
					continue;
				struct tpacket_auxdata aux;
				std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
				if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || buf.size() < 12)
					continue;
				uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
				uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
						  static_cast<uint8_t>(aux.tp_vlan_tci >> 8), static_cast<uint8_t>(aux.tp_vlan_tci)};
				buf.insert(buf.begin() + 12, tag, tag + 4);
			}
			if (!keep || keep(buf))
				frames.push_back(std::move(buf));
		}
	}
	return frames;
}

std::function<bool(const Bytes &)> to_mac(const Mac &dst)
{
	return [dst](const Bytes &f) { return f.size() >= 6 && std::equal(dst.begin(), dst.end(), f.begin()); };
}

} // namespace xt
