#include "traffic.hpp"

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "netns.hpp"

namespace xt {

int send_frames(const std::string &ifname, const Bytes &frame, int count)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_ll sll {};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
	sll.sll_halen = ETH_ALEN;
	int sent = 0;
	for (int i = 0; i < count; i++)
		if (sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)) ==
		    static_cast<ssize_t>(frame.size()))
			sent++;
	close(fd);
	return sent;
}

std::optional<IpLinkStats> ip_link_stats(const std::string &ifname)
{
	std::string out;
	if (sh("ip -s -j link show dev " + ifname, &out) != 0)
		return std::nullopt;
	auto j = nlohmann::json::parse(out, nullptr, false);
	if (!j.is_array() || j.empty() || !j[0].contains("stats64"))
		return std::nullopt;
	const auto &s = j[0]["stats64"];
	IpLinkStats r;
	r.rx_packets = s["rx"]["packets"].get<uint64_t>();
	r.rx_bytes = s["rx"]["bytes"].get<uint64_t>();
	r.rx_dropped = s["rx"]["dropped"].get<uint64_t>();
	r.tx_packets = s["tx"]["packets"].get<uint64_t>();
	r.tx_bytes = s["tx"]["bytes"].get<uint64_t>();
	r.tx_dropped = s["tx"]["dropped"].get<uint64_t>();
	return r;
}

} // namespace xt
