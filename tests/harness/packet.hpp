// Packet builder for tests: layers are stacked outermost first and serialized by build(), which
// fills in ethertypes, lengths and checksums so a row of a test table reads like the packet:
//
//   auto pkt = Packet().eth(kDst, kSrc).vlan(100).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2)
//                  .payload(18).build();
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xt {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

constexpr Mac kMacA{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
constexpr Mac kMacB{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
constexpr Mac kMacBcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// Ethertype reserved for local experiments (IEEE 802 "Local Experimental Ethertype 1"): frames
// of this type are ours, so captures ignore the kernel's own chatter (ND, MLD, ...).
constexpr uint16_t kEthTest = 0x88b5;

class Packet {
public:
	// ethertype 0: taken from the next layer (VLAN, IPv4, IPv6, ARP), or kEthTest if none.
	Packet &eth(const Mac &dst, const Mac &src, uint16_t ethertype = 0);
	Packet &vlan(uint16_t tci, uint16_t tpid = 0x8100);
	Packet &arp_request(const std::string &sender_ip, const std::string &target_ip,
			    const Mac &sender_mac);
	Packet &ipv4(const std::string &src, const std::string &dst, uint8_t ttl = 64,
		     std::optional<uint8_t> proto = std::nullopt);
	Packet &ipv6(const std::string &src, const std::string &dst, uint8_t hop_limit = 64,
		     std::optional<uint8_t> next_header = std::nullopt);
	Packet &udp(uint16_t sport, uint16_t dport);
	Packet &tcp(uint16_t sport, uint16_t dport, uint8_t flags = 0x02 /* SYN */);
	Packet &payload(const Bytes &bytes);
	Packet &payload(size_t len, uint8_t seed = 0); // deterministic pattern
	Packet &pad_to(size_t frame_len); // payload so the frame is exactly frame_len bytes

	[[nodiscard]] Bytes build() const;

private:
	enum class Kind { Eth, Vlan, Arp, Ipv4, Ipv6, Udp, Tcp, Payload };
	struct Layer {
		Kind kind;
		Bytes hdr; // header with length/checksum/type fields still zero where derived
		uint16_t explicit_type = 0;
	};
	std::vector<Layer> layers_;
	size_t pad_to_ = 0;
};

// Ones' complement sum for IPv4/UDP/TCP checksums.
uint16_t inet_csum(const uint8_t *data, size_t len, uint32_t seed = 0);

std::string hex(const Bytes &b, size_t max = 128);
Bytes truncated(Bytes b, size_t len);
Bytes concat(const Bytes &a, const Bytes &b);

} // namespace xt
