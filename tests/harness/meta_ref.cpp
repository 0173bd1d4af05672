#include "meta_ref.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <sstream>
#include <vector>

namespace xt {

uint32_t fnv1a(const Bytes &b)
{
	uint32_t h = XDPCTL_FNV1A_BASIS;
	for (uint8_t c : b) {
		h ^= c;
		h *= XDPCTL_FNV1A_PRIME;
	}
	return h;
}

uint32_t flow_hash(const FlowTuple &t)
{
	Bytes b;
	auto add_addr = [&b](const std::string &a) {
		uint8_t buf[16];
		if (inet_pton(AF_INET, a.c_str(), buf) == 1)
			b.insert(b.end(), buf, buf + 4);
		else if (inet_pton(AF_INET6, a.c_str(), buf) == 1)
			b.insert(b.end(), buf, buf + 16);
	};
	add_addr(t.src);
	add_addr(t.dst);
	b.push_back(t.proto);
	b.push_back(static_cast<uint8_t>(t.sport >> 8));
	b.push_back(static_cast<uint8_t>(t.sport));
	b.push_back(static_cast<uint8_t>(t.dport >> 8));
	b.push_back(static_cast<uint8_t>(t.dport));
	return fnv1a(b);
}

struct xdpctl_meta producer_meta(const std::optional<FlowTuple> &flow, std::optional<uint32_t> mark)
{
	struct xdpctl_meta m {};
	if (flow) {
		m.flow_hash = flow_hash(*flow);
		m.valid |= XDPCTL_META_FLOW_HASH;
	}
	if (mark) {
		m.mark = *mark;
		m.valid |= XDPCTL_META_MARK;
	}
	m.magic = XDPCTL_META_MAGIC;
	return m;
}

Bytes meta_bytes(const struct xdpctl_meta &m)
{
	Bytes b(sizeof(m));
	std::memcpy(b.data(), &m, sizeof(m));
	return b;
}

std::string describe(const struct xdpctl_meta &m)
{
	std::ostringstream o;
	o << std::hex << "{flow_hash 0x" << m.flow_hash << " mark 0x" << m.mark << " rx_hash 0x" << m.rx_hash
	  << " rx_hash_type 0x" << m.rx_hash_type << " rx_timestamp 0x" << m.rx_timestamp << " rx_vlan_proto 0x"
	  << m.rx_vlan_proto << " rx_vlan_tci 0x" << m.rx_vlan_tci << " valid 0x" << unsigned(m.valid)
	  << " refused 0x" << unsigned(m.refused) << " magic 0x" << m.magic << "}";
	return o.str();
}

struct xdpctl_kfunc_counters kfunc_counters(int map_fd, uint32_t kfunc)
{
	int ncpu = libbpf_num_possible_cpus();
	std::vector<struct xdpctl_kfunc_stats> v(ncpu > 0 ? ncpu : 1);
	struct xdpctl_kfunc_counters sum {};
	uint32_t key = 0;
	if (kfunc >= XDPCTL_KFUNC_MAX || bpf_map_lookup_elem(map_fd, &key, v.data()))
		return sum;
	for (auto &s : v) {
		const auto &c = s.kfunc[kfunc];
		sum.ok += c.ok;
		sum.refused += c.refused;
		sum.nodata += c.nodata;
		sum.other += c.other;
	}
	return sum;
}

} // namespace xt
