#include "model.hpp"

#include <cstring>

#include "meta_ref.hpp"

namespace fz {

namespace {

uint16_t be16(const Bytes &f, size_t off)
{
	return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}

bool is_tag(uint16_t type)
{
	return type == 0x8100 || type == 0x88a8;
}

// The flow of meta_progs.h: the hashed tuple and, for a complete UDP/TCP header of an unfragmented
// packet, the destination port.
struct Flow {
	Bytes tuple;
	std::optional<uint16_t> dport;
};

std::optional<Flow> flow_of(const Bytes &f)
{
	if (f.size() < 14)
		return std::nullopt;
	size_t off = 14;
	uint16_t type = be16(f, 12);
	// "after at most two 802.1Q/802.1ad tags"; a third tag: no complete IP header
	for (int tags = 0; is_tag(type); tags++) {
		if (tags == 2 || off + 4 > f.size())
			return std::nullopt;
		type = be16(f, off + 2);
		off += 4;
	}

	Flow fl;
	size_t l4 = 0;
	uint8_t proto = 0;
	bool fragment = false;
	if (type == 0x0800) {
		if (off + 20 > f.size())
			return std::nullopt;
		size_t ihl = (f[off] & 0x0f) * 4u;
		if (ihl < 20 || off + ihl > f.size())
			return std::nullopt; // no complete IP header
		proto = f[off + 9];
		fragment = (be16(f, off + 6) & 0x3fff) != 0; // MF or an offset
		fl.tuple.assign(f.begin() + static_cast<long>(off + 12), f.begin() + static_cast<long>(off + 20));
		l4 = off + ihl;
	} else if (type == 0x86dd) {
		if (off + 40 > f.size())
			return std::nullopt;
		proto = f[off + 6]; // the next header: extension headers are not walked
		fl.tuple.assign(f.begin() + static_cast<long>(off + 8), f.begin() + static_cast<long>(off + 40));
		l4 = off + 40;
	} else {
		return std::nullopt;
	}
	fl.tuple.push_back(proto);

	// "The ports are those of a complete UDP or TCP header and are zero for every other protocol
	// and for IPv4 fragments"; "UDP/TCP frames whose L4 header is cut off get no flow hash".
	Bytes ports(4, 0);
	if (!fragment && (proto == 17 || proto == 6)) {
		size_t hlen = 8;
		if (proto == 6) {
			if (l4 + 20 > f.size())
				return std::nullopt;
			hlen = (f[l4 + 12] >> 4) * 4u;
			if (hlen < 20)
				return std::nullopt; // a TCP header shorter than its fixed part is no header
		}
		if (l4 + hlen > f.size())
			return std::nullopt;
		ports.assign(f.begin() + static_cast<long>(l4), f.begin() + static_cast<long>(l4 + 4));
		fl.dport = be16(f, l4 + 2);
	}
	fl.tuple.insert(fl.tuple.end(), ports.begin(), ports.end());
	return fl;
}

} // namespace

MetaVerdict meta_model(const Bytes &frame, const MetaConfig &c)
{
	MetaVerdict v;
	// "A frame that already carries metadata ... leaves unchanged, counted as NO_ROOM"
	if (!c.meta_in.empty()) {
		v.meta_out = c.meta_in;
		v.no_room = 1;
		return v;
	}
	struct xdpctl_meta m {};
	auto fl = flow_of(frame);
	if (fl) {
		m.flow_hash = xt::fnv1a(fl->tuple); // the reference FNV-1a, pinned to published vectors
		m.valid |= XDPCTL_META_FLOW_HASH;
	} else {
		v.no_flow = 1;
	}
	// "mark: meta_marks[destination port] for UDP/TCP when non-zero, else the rodata
	// default_mark when it is non-zero"; "a frame to port 0 never uses meta_marks[0]"
	uint32_t mark = 0;
	if (fl && fl->dport && *fl->dport != 0) {
		auto it = c.marks.find(*fl->dport);
		if (it != c.marks.end())
			mark = it->second;
	}
	if (!mark)
		mark = c.default_mark;
	if (mark) {
		m.mark = mark;
		m.valid |= XDPCTL_META_MARK;
		v.marked = 1;
	}
	m.magic = XDPCTL_META_MAGIC;
	v.meta_out.resize(sizeof(m));
	std::memcpy(v.meta_out.data(), &m, sizeof(m));
	return v;
}

EgressVerdict egress_model(const Bytes &frame, const struct xdpctl_egress_port &cfg)
{
	EgressVerdict v;
	// "Order of work on a frame: drop policy (judged on the frame as it arrived), VLAN action,
	// then the source MAC."
	bool tagged = frame.size() >= 14 && is_tag(be16(frame, 12));
	if ((cfg.drop & XDPCTL_EGRESS_DROP_ALL) || ((cfg.drop & XDPCTL_EGRESS_DROP_UNTAGGED) && !tagged) ||
	    ((cfg.drop & XDPCTL_EGRESS_DROP_TAGGED) && tagged)) {
		v.counters[XDPCTL_EGRESS_CNT_POLICY_DROP] = 1;
		return v;
	}
	Bytes out = frame;
	if (cfg.vlan_action == XDPCTL_EGRESS_VLAN_PUSH) {
		// a new outermost tag {vlan_proto (0 means 0x8100), vlan_tci} after the MAC addresses
		uint16_t tpid = cfg.vlan_proto ? cfg.vlan_proto : 0x8100;
		uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
				  static_cast<uint8_t>(cfg.vlan_tci >> 8), static_cast<uint8_t>(cfg.vlan_tci)};
		out.insert(out.begin() + 12, tag, tag + 4);
	} else if (cfg.vlan_action == XDPCTL_EGRESS_VLAN_POP && tagged) {
		// "the outermost 802.1Q/802.1ad tag is removed"; "dropped: the tag POP needs is cut short"
		if (frame.size() < 18) {
			v.counters[XDPCTL_EGRESS_CNT_MALFORMED] = 1;
			return v;
		}
		out.erase(out.begin() + 12, out.begin() + 16);
		v.counters[XDPCTL_EGRESS_CNT_VLAN_POPPED] = 1;
	}
	if (cfg.set_src_mac)
		std::memcpy(out.data() + 6, cfg.src_mac, 6);
	v.transmitted = true;
	v.out = std::move(out);
	return v;
}

} // namespace fz
