#include "fuzz.hpp"

#include <bpf/bpf.h>
#include <linux/types.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "fuzz_capture.h"
#include "fuzz_capture.skel.h"
#include "prog_run.hpp"

namespace fz {

Bytes Reader::bytes(size_t k)
{
	Bytes b(k);
	for (auto &x : b)
		x = u8();
	return b;
}

Input decode(const uint8_t *data, size_t size)
{
	Input in;
	Reader r(data, size);
	for (auto &c : in.cfg)
		c = r.u8();
	uint8_t mode = r.u8();
	in.generated = mode & 1;
	if (in.generated) {
		in.frame = gen_frame(r);
	} else {
		in.frame = r.rest();
		if (in.frame.size() > kMaxFrame)
			in.frame.resize(kMaxFrame);
	}
	return in;
}

namespace {

void put16(Bytes &b, uint16_t v)
{
	b.push_back(static_cast<uint8_t>(v >> 8));
	b.push_back(static_cast<uint8_t>(v));
}

uint16_t port(Reader &r)
{
	uint8_t c = r.u8();
	return c & 1 ? kPorts[(c >> 1) % kNumPorts] : r.u16();
}

void l4(Reader &r, Bytes &f, uint8_t proto)
{
	if (proto == 17) { // UDP
		put16(f, port(r));
		put16(f, port(r));
		put16(f, r.u16());
		put16(f, r.u16());
	} else if (proto == 6) { // TCP: data offset usually 5..15 (options), sometimes anything
		put16(f, port(r));
		put16(f, port(r));
		for (int i = 0; i < 8; i++)
			f.push_back(r.u8());
		uint8_t c = r.u8();
		uint8_t doff = c & 0x80 ? c & 0x0f : static_cast<uint8_t>(5 + (c & 0x0f) % 11);
		f.push_back(static_cast<uint8_t>(doff << 4));
		for (int i = 0; i < 7; i++)
			f.push_back(r.u8());
		for (int i = 20; i < doff * 4; i++)
			f.push_back(r.u8());
	}
}

uint8_t l4_proto(Reader &r)
{
	static const uint8_t protos[] = {17, 6, 17, 6, 1, 58, 47, 132};
	uint8_t c = r.u8();
	return c & 0x80 ? r.u8() : protos[c % 8];
}

} // namespace

Bytes gen_frame(Reader &r, size_t max_len)
{
	Bytes f;
	uint8_t c = r.u8();
	// destination MAC: a group MAC, broadcast, ours, or any
	xt::Mac dst{};
	switch (c & 3) {
	case 0: dst = kGroupMacs[(c >> 2) % kNumGroupMacs]; break;
	case 1: dst = xt::kMacBcast; break;
	case 2: dst = xt::kMacB; break;
	default:
		for (auto &x : dst)
			x = r.u8();
	}
	f.insert(f.end(), dst.begin(), dst.end());
	for (int i = 0; i < 6; i++)
		f.push_back(c & 0x10 ? r.u8() : xt::kMacA[static_cast<size_t>(i)]);

	// 0..3 VLAN tags, 802.1Q or 802.1ad
	uint8_t v = r.u8();
	for (int i = 0; i < (v & 3); i++) {
		put16(f, (v >> (2 + i)) & 1 ? 0x88a8 : 0x8100);
		put16(f, r.u16());
	}

	uint8_t l3 = r.u8();
	switch (l3 % 8) {
	case 0:
	case 1:
	case 2: { // IPv4: IHL usually 5..15 (options), sometimes anything; fragments
		put16(f, 0x0800);
		uint8_t h = r.u8();
		uint8_t ihl = h & 0x80 ? h & 0x0f : static_cast<uint8_t>(5 + (h & 0x0f) % 11 * ((h >> 4) & 1));
		uint8_t ver = (h & 0x60) == 0x60 ? r.u8() >> 4 : 4;
		f.push_back(static_cast<uint8_t>(ver << 4 | ihl));
		f.push_back(r.u8()); // tos
		put16(f, r.u16()); // total length: the program must not trust it
		put16(f, r.u16()); // id
		static const uint16_t frags[] = {0, 0x4000, 0x2000, 0x0001, 0x1fff, 0x4000, 0, 0};
		uint8_t fr = r.u8();
		put16(f, fr & 0x80 ? r.u16() : frags[fr % 8]);
		f.push_back(r.u8()); // ttl
		uint8_t proto = l4_proto(r);
		f.push_back(proto);
		put16(f, r.u16()); // checksum
		for (int i = 0; i < 8; i++)
			f.push_back(r.u8());
		for (int i = 20; i < ihl * 4; i++)
			f.push_back(r.u8());
		l4(r, f, proto);
		break;
	}
	case 3:
	case 4:
	case 5: { // IPv6 with 0..3 extension headers
		put16(f, 0x86dd);
		f.push_back(0x60);
		f.push_back(r.u8());
		put16(f, r.u16());
		put16(f, r.u16()); // payload length
		uint8_t e = r.u8();
		static const uint8_t exts[] = {0, 43, 44, 60};
		int n_ext = e & 3;
		uint8_t proto = l4_proto(r);
		f.push_back(n_ext ? exts[(e >> 2) & 3] : proto);
		f.push_back(r.u8()); // hop limit
		for (int i = 0; i < 32; i++)
			f.push_back(r.u8());
		for (int i = 0; i < n_ext; i++) {
			f.push_back(i + 1 < n_ext ? exts[(e >> (4 + i)) & 3] : proto);
			f.push_back(0); // 8 bytes
			for (int k = 0; k < 6; k++)
				f.push_back(r.u8());
		}
		if (!n_ext)
			l4(r, f, proto);
		break;
	}
	case 6: // ARP request
		put16(f, 0x0806);
		for (uint8_t b : {0, 1, 8, 0, 6, 4, 0, 1})
			f.push_back(b);
		for (int i = 0; i < 20; i++)
			f.push_back(r.u8());
		break;
	default: // any ethertype
		put16(f, r.u16());
	}

	// payload, then maybe cut anywhere
	size_t pay = r.u16() % 1600;
	if (r.bit())
		pay = r.u16() % (max_len + 1);
	for (size_t i = 0; i < pay && f.size() < max_len; i++)
		f.push_back(static_cast<uint8_t>(i * 7 + 1));
	uint8_t t = r.u8();
	if (t & 1)
		f.resize(std::min<size_t>(f.size(), r.u16() % (f.size() + 1)));
	if (f.size() > max_len)
		f.resize(max_len);
	return f;
}

std::string hex(const Bytes &b)
{
	static const char *d = "0123456789abcdef";
	std::string s;
	for (size_t i = 0; i < b.size(); i++) {
		s += d[b[i] >> 4];
		s += d[b[i] & 15];
		if (i % 32 == 31)
			s += '\n';
		else if (i % 2 == 1)
			s += ' ';
	}
	return s;
}

void mismatch(const char *prog, const Input &in, const std::string &what)
{
	std::ostringstream o;
	o << "MISMATCH " << prog << ": " << what << "\nconfig:";
	for (auto c : in.cfg)
		o << ' ' << static_cast<int>(c);
	o << "\nframe (" << in.frame.size() << " bytes" << (in.generated ? ", generated" : "") << "):\n"
	  << hex(in.frame) << "\n";
	fputs(o.str().c_str(), stderr);
	abort();
}

void must(bool ok, const std::string &what)
{
	if (!ok) {
		fprintf(stderr, "fuzz setup: %s: %s\n", what.c_str(), strerror(errno));
		exit(1);
	}
}

void sh(const std::string &cmd)
{
	int rc = system((cmd + " >/dev/null").c_str());
	if (rc != 0) {
		fprintf(stderr, "fuzz setup: '%s' failed (%d)\n", cmd.c_str(), rc);
		exit(1);
	}
}

void enter_private_netns()
{
	must(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET) (the fuzzers need root)");
	sh("ip link set lo up");
	sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
}

Port add_port(const std::string &name)
{
	Port p{name, name + "p"};
	sh("ip link add " + p.name + " type veth peer name " + p.peer);
	// the largest MTU a veth takes with a non-frags XDP program (PAGE_SIZE minus headroom and
	// skb_shared_info minus the Ethernet header): frames up to kMaxFrame plus a tag pass
	sh("ip link set " + p.peer + " mtu 3480");
	sh("ip link set " + p.name + " mtu 3480");
	sh("ethtool -K " + p.peer + " gro off");
	sh("ip link set " + p.name + " up");
	sh("ip link set " + p.peer + " up");
	p.ifindex = static_cast<int>(if_nametoindex(p.name.c_str()));
	p.peer_ifindex = static_cast<int>(if_nametoindex(p.peer.c_str()));
	must(p.ifindex > 0 && p.peer_ifindex > 0, "veth " + name);
	return p;
}

int Capture::on_frame(void *ctx, void *data, size_t)
{
	auto *self = static_cast<Capture *>(ctx);
	auto *f = static_cast<const struct fuzz_frame *>(data);
	size_t n = std::min<size_t>(f->len, sizeof(f->data));
	auto it = self->peer_to_port_.find(static_cast<int>(f->ifindex));
	int port = it == self->peer_to_port_.end() ? -static_cast<int>(f->ifindex) : it->second;
	self->got_.emplace_back(port, Bytes(f->data, f->data + n));
	return 0;
}

Capture::Capture(const std::vector<Port> &ports)
{
	skel_ = fuzz_capture__open_and_load();
	must(skel_ != nullptr, "load fuzz_capture");
	for (const auto &p : ports) {
		must(bpf_xdp_attach(p.peer_ifindex, bpf_program__fd(skel_->progs.fuzz_capture), 0, nullptr) == 0,
		     "attach fuzz_capture to " + p.peer);
		peer_to_port_[p.peer_ifindex] = p.ifindex;
	}
	rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.frames), on_frame, this, nullptr);
	must(rb_ != nullptr, "ring buffer");
}

Capture::~Capture()
{
	ring_buffer__free(rb_);
	fuzz_capture__destroy(skel_);
}

std::vector<std::pair<int, Bytes>> Capture::take(size_t want, int ms)
{
	for (int waited = 0; got_.size() < want && waited < ms; waited++)
		ring_buffer__poll(rb_, 1);
	ring_buffer__consume(rb_);
	auto out = std::move(got_);
	got_.clear();
	std::sort(out.begin(), out.end());
	return out;
}

Counts read_counts(const struct bpf_map *stats)
{
	Counts c;
	auto a = xt::read_action_stats(stats);
	for (int i = 0; i < 5; i++) {
		c.pkts[i] = a[static_cast<size_t>(i)].packets;
		c.bytes[i] = a[static_cast<size_t>(i)].bytes;
	}
	return c;
}

Counts diff(const Counts &after, const Counts &before)
{
	Counts d;
	for (int i = 0; i < 5; i++) {
		d.pkts[i] = after.pkts[i] - before.pkts[i];
		d.bytes[i] = after.bytes[i] - before.bytes[i];
	}
	return d;
}

bool operator==(const Counts &a, const Counts &b)
{
	return std::equal(a.pkts, a.pkts + 5, b.pkts) && std::equal(a.bytes, a.bytes + 5, b.bytes);
}

std::string describe(const Counts &c)
{
	static const char *n[] = {"aborted", "drop", "pass", "tx", "redirect"};
	std::string s;
	for (int i = 0; i < 5; i++)
		if (c.pkts[i] || c.bytes[i])
			s += std::string(s.empty() ? "" : " ") + n[i] + "=" + std::to_string(c.pkts[i]) + "/" +
			     std::to_string(c.bytes[i]) + "B";
	return s.empty() ? "none" : s;
}

uint64_t percpu_sum(const struct bpf_map *m, uint32_t key)
{
	return xt::percpu_u64(bpf_map__fd(m), key);
}

} // namespace fz
