#include "ethtool_stats.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "xdpctl/fd.hpp"

namespace xt {

std::map<std::string, uint64_t> ethtool_stats(const std::string &ifname)
{
	xdpctl::Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	struct ifreq ifr {};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
	auto call = [&](void *arg, const char *what) {
		ifr.ifr_data = static_cast<char *>(arg);
		if (!s || ioctl(s.get(), SIOCETHTOOL, &ifr))
			throw std::runtime_error(std::string(what) + " " + ifname + ": " + strerror(errno));
	};
	// struct ethtool_sset_info with room for one answer in its flexible data[]
	alignas(struct ethtool_sset_info) uint8_t sbuf[sizeof(struct ethtool_sset_info) + sizeof(uint32_t)] {};
	auto *sset = reinterpret_cast<struct ethtool_sset_info *>(sbuf);
	sset->cmd = ETHTOOL_GSSET_INFO;
	sset->sset_mask = 1ULL << ETH_SS_STATS;
	call(sset, "ETHTOOL_GSSET_INFO");
	uint32_t n = sset->sset_mask ? sset->data[0] : 0;
	std::vector<uint8_t> names(sizeof(struct ethtool_gstrings) + n * ETH_GSTRING_LEN);
	auto *gs = reinterpret_cast<struct ethtool_gstrings *>(names.data());
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_STATS;
	gs->len = n;
	call(gs, "ETHTOOL_GSTRINGS");
	std::vector<uint8_t> vals(sizeof(struct ethtool_stats) + n * sizeof(uint64_t));
	auto *st = reinterpret_cast<struct ethtool_stats *>(vals.data());
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	call(st, "ETHTOOL_GSTATS");
	std::map<std::string, uint64_t> m;
	for (uint32_t i = 0; i < n; i++) {
		const char *name = reinterpret_cast<const char *>(gs->data + i * ETH_GSTRING_LEN);
		m[std::string(name, strnlen(name, ETH_GSTRING_LEN))] = st->data[i];
	}
	return m;
}

uint64_t rx_queue_sum(const std::map<std::string, uint64_t> &st, const std::string &what)
{
	uint64_t sum = 0;
	for (const auto &[k, v] : st)
		if (k.rfind("rx_queue_", 0) == 0 && k.size() > what.size() + 1 &&
		    k.compare(k.size() - what.size() - 1, std::string::npos, "_" + what) == 0)
			sum += v;
	return sum;
}

} // namespace xt
