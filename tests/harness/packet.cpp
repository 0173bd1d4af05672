#include "packet.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <stdexcept>

namespace xt {
namespace {

void put16(Bytes &b, size_t off, uint16_t v)
{
	b[off] = v >> 8;
	b[off + 1] = v & 0xff;
}

Bytes addr4(const std::string &s)
{
	Bytes b(4);
	if (inet_pton(AF_INET, s.c_str(), b.data()) != 1)
		throw std::invalid_argument("bad IPv4 address " + s);
	return b;
}

Bytes addr6(const std::string &s)
{
	Bytes b(16);
	if (inet_pton(AF_INET6, s.c_str(), b.data()) != 1)
		throw std::invalid_argument("bad IPv6 address " + s);
	return b;
}

uint32_t sum_words(const uint8_t *d, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (d[i] << 8) | d[i + 1];
	if (len & 1)
		sum += d[len - 1] << 8;
	return sum;
}

} // namespace

uint16_t inet_csum(const uint8_t *data, size_t len, uint32_t seed)
{
	uint32_t sum = sum_words(data, len, seed);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return static_cast<uint16_t>(~sum);
}

Packet &Packet::eth(const Mac &dst, const Mac &src, uint16_t ethertype)
{
	Bytes h(14, 0);
	std::copy(dst.begin(), dst.end(), h.begin());
	std::copy(src.begin(), src.end(), h.begin() + 6);
	layers_.push_back({Kind::Eth, h, ethertype});
	return *this;
}

Packet &Packet::vlan(uint16_t tci, uint16_t tpid)
{
	// The TPID belongs in the previous layer's type field; we keep it with this layer and let
	// build() write it there.
	Bytes h(4, 0);
	put16(h, 0, tci);
	layers_.push_back({Kind::Vlan, h, tpid});
	return *this;
}

Packet &Packet::arp_request(const std::string &sender_ip, const std::string &target_ip,
			    const Mac &sender_mac)
{
	Bytes h(28, 0);
	put16(h, 0, 1);      // Ethernet
	put16(h, 2, 0x0800); // IPv4
	h[4] = 6;
	h[5] = 4;
	put16(h, 6, 1); // request
	std::copy(sender_mac.begin(), sender_mac.end(), h.begin() + 8);
	auto s = addr4(sender_ip), t = addr4(target_ip);
	std::copy(s.begin(), s.end(), h.begin() + 14);
	std::copy(t.begin(), t.end(), h.begin() + 24);
	layers_.push_back({Kind::Arp, h, 0});
	return *this;
}

Packet &Packet::ipv4(const std::string &src, const std::string &dst, uint8_t ttl,
		     std::optional<uint8_t> proto)
{
	Bytes h(20, 0);
	h[0] = 0x45;
	h[8] = ttl;
	h[9] = proto.value_or(0);
	auto s = addr4(src), d = addr4(dst);
	std::copy(s.begin(), s.end(), h.begin() + 12);
	std::copy(d.begin(), d.end(), h.begin() + 16);
	layers_.push_back({Kind::Ipv4, h, proto.value_or(0)});
	return *this;
}

Packet &Packet::ipv6(const std::string &src, const std::string &dst, uint8_t hop_limit,
		     std::optional<uint8_t> next_header)
{
	Bytes h(40, 0);
	h[0] = 0x60;
	h[6] = next_header.value_or(59 /* no next header */);
	h[7] = hop_limit;
	auto s = addr6(src), d = addr6(dst);
	std::copy(s.begin(), s.end(), h.begin() + 8);
	std::copy(d.begin(), d.end(), h.begin() + 24);
	layers_.push_back({Kind::Ipv6, h, next_header.value_or(0)});
	return *this;
}

Packet &Packet::udp(uint16_t sport, uint16_t dport)
{
	Bytes h(8, 0);
	put16(h, 0, sport);
	put16(h, 2, dport);
	layers_.push_back({Kind::Udp, h, 0});
	return *this;
}

Packet &Packet::tcp(uint16_t sport, uint16_t dport, uint8_t flags)
{
	Bytes h(20, 0);
	put16(h, 0, sport);
	put16(h, 2, dport);
	h[12] = 5 << 4;
	h[13] = flags;
	put16(h, 14, 65535);
	layers_.push_back({Kind::Tcp, h, 0});
	return *this;
}

Packet &Packet::payload(const Bytes &bytes)
{
	layers_.push_back({Kind::Payload, bytes, 0});
	return *this;
}

Packet &Packet::payload(size_t len, uint8_t seed)
{
	Bytes b(len);
	for (size_t i = 0; i < len; i++)
		b[i] = static_cast<uint8_t>(seed + i);
	return payload(b);
}

Packet &Packet::pad_to(size_t frame_len)
{
	pad_to_ = frame_len;
	return *this;
}

Bytes Packet::build() const
{
	std::vector<Layer> ls = layers_;
	size_t total = 0;
	for (auto &l : ls)
		total += l.hdr.size();
	if (pad_to_ > total)
		ls.push_back({Kind::Payload, Packet().payload(pad_to_ - total).layers_[0].hdr, 0});

	// Serialize inner to outer: each layer knows the bytes that follow it.
	Bytes tail;
	for (size_t i = ls.size(); i-- > 0;) {
		Layer &l = ls[i];
		Bytes h = l.hdr;
		const Layer *next = i + 1 < ls.size() ? &ls[i + 1] : nullptr;
		auto next_type = [&]() -> uint16_t {
			if (!next)
				return kEthTest;
			switch (next->kind) {
			case Kind::Vlan: return next->explicit_type;
			case Kind::Arp: return 0x0806;
			case Kind::Ipv4: return 0x0800;
			case Kind::Ipv6: return 0x86dd;
			default: return kEthTest;
			}
		};
		auto next_proto = [&]() -> uint8_t {
			if (next && next->kind == Kind::Udp)
				return 17;
			if (next && next->kind == Kind::Tcp)
				return 6;
			return 59;
		};
		switch (l.kind) {
		case Kind::Eth:
			put16(h, 12, l.explicit_type ? l.explicit_type : next_type());
			break;
		case Kind::Vlan:
			put16(h, 2, next_type());
			break;
		case Kind::Ipv4: {
			if (!l.explicit_type)
				h[9] = next_proto();
			put16(h, 2, static_cast<uint16_t>(h.size() + tail.size()));
			put16(h, 10, inet_csum(h.data(), h.size()));
			// L4 checksum over the pseudo-header, now that addresses are final.
			if (next && (next->kind == Kind::Udp || next->kind == Kind::Tcp)) {
				size_t csum_off = next->kind == Kind::Udp ? 6 : 16;
				if (next->kind == Kind::Udp)
					put16(tail, 4, static_cast<uint16_t>(tail.size()));
				uint32_t seed = sum_words(h.data() + 12, 8, 0) + h[9] + tail.size();
				put16(tail, csum_off, 0);
				uint16_t c = inet_csum(tail.data(), tail.size(), seed);
				put16(tail, csum_off, next->kind == Kind::Udp && c == 0 ? 0xffff : c);
			}
			break;
		}
		case Kind::Ipv6: {
			if (!l.explicit_type)
				h[6] = next_proto();
			put16(h, 4, static_cast<uint16_t>(tail.size()));
			if (next && (next->kind == Kind::Udp || next->kind == Kind::Tcp)) {
				size_t csum_off = next->kind == Kind::Udp ? 6 : 16;
				if (next->kind == Kind::Udp)
					put16(tail, 4, static_cast<uint16_t>(tail.size()));
				uint32_t seed = sum_words(h.data() + 8, 32, 0) + h[6] + tail.size();
				put16(tail, csum_off, 0);
				uint16_t c = inet_csum(tail.data(), tail.size(), seed);
				put16(tail, csum_off, next->kind == Kind::Udp && c == 0 ? 0xffff : c);
			}
			break;
		}
		case Kind::Udp:
			put16(h, 4, static_cast<uint16_t>(h.size() + tail.size()));
			break;
		default:
			break;
		}
		h.insert(h.end(), tail.begin(), tail.end());
		tail = std::move(h);
	}
	return tail;
}

std::string hex(const Bytes &b, size_t max)
{
	std::string s;
	char buf[4];
	for (size_t i = 0; i < b.size() && i < max; i++) {
		snprintf(buf, sizeof(buf), "%02x", b[i]);
		s += buf;
		if (i + 1 < b.size())
			s += (i % 16 == 15) ? "\n" : " ";
	}
	if (b.size() > max)
		s += "... (" + std::to_string(b.size()) + " bytes)";
	return s;
}

Bytes truncated(Bytes b, size_t len)
{
	if (b.size() > len)
		b.resize(len);
	return b;
}

Bytes concat(const Bytes &a, const Bytes &b)
{
	Bytes r = a;
	r.insert(r.end(), b.begin(), b.end());
	return r;
}

} // namespace xt
