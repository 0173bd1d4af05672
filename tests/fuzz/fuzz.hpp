// What every fuzzer of tests/fuzz/ shares: the input format, the structure-aware frame
// generator, a private network namespace with capture ports, and how a mismatch with the
// model is reported.
//
// Input format (what libFuzzer mutates; tests/fuzz/seeds/*.pcap become inputs of mode 0):
//
//   bytes 0..15   configuration: each fuzzer reads what it needs (map contents, rodata)
//   byte 16       mode: even = the rest is a raw frame; odd = the rest is a recipe for
//                 gen_frame (Ethernet, 802.1Q/802.1ad stacks, ARP, IPv4 with options and
//                 fragments, IPv6 with extension headers, UDP, TCP, payload, cut at any byte)
//
// A mismatch prints the program, the configuration, the frame and both answers, then aborts:
// libFuzzer keeps the input as crash-* (replay it: `build/fuzz/fuzz_PROG crash-...`).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "input.hpp"
#include "packet.hpp"

struct fuzz_capture; // its skeleton (fuzz_capture.skel.h)

namespace fz {

using xt::Bytes;

// The largest frame the fuzzers build. A test run takes up to PAGE_SIZE minus the headroom and
// skb_shared_info (3,520 bytes on x86-64); a frame delivered through a veth must also fit the
// peer's MTU, and a port's egress program may add a tag: so every frame fits every path here.
inline constexpr size_t kMaxFrame = 3400;

// Reads bytes in order; zeros once the data runs out.
class Reader {
public:
	Reader(const uint8_t *d, size_t n) : d_(d), n_(n) {}
	uint8_t u8() { return i_ < n_ ? d_[i_++] : 0; }
	uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
	uint32_t u32() { return static_cast<uint32_t>(u16()) << 16 | u16(); }
	bool bit() { return u8() & 1; }
	Bytes bytes(size_t k);
	Bytes rest() { return bytes(n_ > i_ ? n_ - i_ : 0); }

private:
	const uint8_t *d_;
	size_t n_, i_ = 0;
};

struct Input {
	uint8_t cfg[kConfigBytes] = {};
	Bytes frame;
	bool generated = false;
};
Input decode(const uint8_t *data, size_t size);

// Ports the generator prefers, so that a configured mark or rule meets frames that use it.
inline constexpr uint16_t kPorts[] = {0, 53, 80, 443, 4789, 8080, 65535};
inline constexpr size_t kNumPorts = sizeof(kPorts) / sizeof(kPorts[0]);
// Multicast MACs the generator prefers (and the multicast fuzzer configures).
inline constexpr xt::Mac kGroupMacs[] = {
	{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa},
	{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}};
inline constexpr size_t kNumGroupMacs = sizeof(kGroupMacs) / sizeof(kGroupMacs[0]);

Bytes gen_frame(Reader &r, size_t max_len = kMaxFrame);

[[noreturn]] void mismatch(const char *prog, const Input &in, const std::string &what);
std::string hex(const Bytes &b);

// A private network namespace for this process (unshare), IPv6 off so the kernel sends no
// chatter, loopback up. The fuzzer's veths live and die with it: nothing is left behind.
void enter_private_netns();

struct Port {
	std::string name, peer;
	int ifindex = 0, peer_ifindex = 0;
};
// A veth pair NAME/NAMEp, both up, GRO off, the peer at the largest MTU a non-frags XDP program
// takes (so kMaxFrame plus a pushed tag fits).
Port add_port(const std::string &name);

// fuzz_capture on the peers of the ports: every frame a port transmits, as it left.
class Capture {
public:
	explicit Capture(const std::vector<Port> &ports);
	~Capture();
	// (port ifindex, frame) of what arrived, sorted; waits until `want` frames came or `ms` passed,
	// then takes whatever else is already there.
	std::vector<std::pair<int, Bytes>> take(size_t want, int ms);

private:
	struct fuzz_capture *skel_ = nullptr;
	struct ring_buffer *rb_ = nullptr;
	std::map<int, int> peer_to_port_;
	std::vector<std::pair<int, Bytes>> got_;
	static int on_frame(void *ctx, void *data, size_t len);
};

void must(bool ok, const std::string &what);

// The loaded instance of a skeleton for one configuration of its rodata: opened, configured by
// `set` and loaded the first time a key is seen, then kept for the process's life (reachable, so
// no leak report at exit). Up to `keep` configurations; the oldest is destroyed to make room.
template <class Skel, class Key, class Set>
Skel *instance(const Key &key, Skel *(*open)(), int (*load)(Skel *), void (*destroy)(Skel *), Set set,
	       size_t keep = 64)
{
	static auto *loaded = new std::map<Key, Skel *>;
	static auto *order = new std::vector<Key>;
	if (auto it = loaded->find(key); it != loaded->end())
		return it->second;
	if (order->size() == keep) {
		destroy((*loaded)[order->front()]);
		loaded->erase(order->front());
		order->erase(order->begin());
	}
	Skel *s = open();
	must(s != nullptr, "open the program");
	set(s);
	must(load(s) == 0, "load the program");
	(*loaded)[key] = s;
	order->push_back(key);
	return s;
}
void sh(const std::string &cmd);

// Per-action counters of an xdpctl_stats map (summed over CPUs) and the difference of two reads.
struct Counts {
	uint64_t pkts[5] = {}, bytes[5] = {};
};
Counts read_counts(const struct bpf_map *stats);
Counts diff(const Counts &after, const Counts &before);
std::string describe(const Counts &c);
bool operator==(const Counts &a, const Counts &b);
uint64_t percpu_sum(const struct bpf_map *m, uint32_t key);

} // namespace fz
