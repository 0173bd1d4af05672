// xdp_broadcast's three programs against their model (written from bpf/xdp_broadcast.bpf.c's
// header): broadcast to every port of the group (DEVMAP with dense slots, or DEVMAP_HASH), the
// ingress port left out when exclude_ingress is set; multicast to the group the destination MAC
// names in mcast_macs, miss_action for a MAC in no group (or in a group number that does not
// exist). Each frame runs as a plain test run (verdict, bytes, xdpctl_stats) and with live frames
// (which port got a copy, byte for byte, read on the peers by fuzz_capture).
//
//   cfg[0]  % 3: xdp_broadcast_devmap, xdp_broadcast_devmap_hash, xdp_multicast;
//           bit 2: exclude_ingress = 0; bit 3: xdpctl_stats_on = 0
//   cfg[1]  miss_action (% 4)       cfg[2] the ingress port (% 4)
//   cfg[3]  broadcast group: bit k = port k is a member
//   cfg[4..5]  multicast: bits 4g..4g+3 = the ports of group g (0..3)
//   cfg[6..9]  multicast: the group of kGroupMacs[i] (% 6: 0..3, 4 = no entry, 5 = group 7)
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "fuzz.hpp"
#include "prog_run.hpp"
#include "xdp_broadcast.skel.h"
#include "xdpctl/broadcast.h"

using namespace fz;

namespace {

constexpr int kPortsN = 4;
std::vector<Port> ports;
Capture *capture;

xdp_broadcast *instance(bool exclude, uint32_t miss, bool stats_on)
{
	return fz::instance(std::tuple{exclude, miss, stats_on}, xdp_broadcast__open, xdp_broadcast__load,
			    xdp_broadcast__destroy, [&](xdp_broadcast *s) {
				    s->rodata->exclude_ingress = exclude;
				    s->rodata->miss_action = miss;
				    s->rodata->xdpctl_stats_on = stats_on;
			    });
}

void clear(bpf_map *m)
{
	uint32_t key, next;
	uint32_t *prev = nullptr;
	std::vector<uint32_t> keys;
	while (bpf_map__get_next_key(m, prev, &next, sizeof(next)) == 0) {
		keys.push_back(next);
		key = next;
		prev = &key;
	}
	for (uint32_t k : keys)
		bpf_map__delete_elem(m, &k, sizeof(k), 0);
}

void fill(bpf_map *m, unsigned members)
{
	clear(m);
	for (int i = 0; i < kPortsN; i++)
		if (members >> i & 1)
			must(xt::group_add_port(m, static_cast<uint32_t>(ports[static_cast<size_t>(i)].ifindex)) >= 0,
			     "group member");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	enter_private_netns();
	for (int i = 0; i < kPortsN; i++)
		ports.push_back(add_port("b" + std::to_string(i)));
	capture = new Capture(ports);
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input in = decode(data, size);
	int kind = in.cfg[0] % 3;
	bool exclude = !(in.cfg[0] & 4), stats_on = !(in.cfg[0] & 8);
	uint32_t miss = in.cfg[1] % 4;
	const Port &from = ports[in.cfg[2] % kPortsN];
	xdp_broadcast *s = instance(exclude, miss, stats_on);
	bpf_program *prog = kind == 0 ? s->progs.xdp_broadcast_devmap
			    : kind == 1 ? s->progs.xdp_broadcast_devmap_hash
					: s->progs.xdp_multicast;

	// the model's answer: a verdict and the ports that get a copy
	unsigned members = 0;
	uint32_t want = XDP_REDIRECT;
	if (kind < 2) {
		members = in.cfg[3] & 0x0f;
		fill(kind == 0 ? s->maps.bcast_ports : s->maps.bcast_ports_hash, members);
	} else {
		bpf_map *groups[] = {s->maps.mcast_group0, s->maps.mcast_group1, s->maps.mcast_group2, s->maps.mcast_group3};
		unsigned g16 = static_cast<unsigned>(in.cfg[4] | in.cfg[5] << 8);
		for (unsigned g = 0; g < 4; g++)
			fill(groups[g], g16 >> (4 * g) & 0x0f);
		std::optional<uint32_t> group; // of the frame's destination MAC
		for (size_t i = 0; i < kNumGroupMacs; i++) {
			struct xdpctl_mac mac {};
			std::memcpy(&mac, kGroupMacs[i].data(), 6);
			uint32_t gid = in.cfg[6 + i] % 6;
			if (gid == 4) {
				bpf_map__delete_elem(s->maps.mcast_macs, &mac, sizeof(mac), 0);
				continue;
			}
			if (gid == 5)
				gid = 7; // no such group: the MAC is in no group
			must(bpf_map__update_elem(s->maps.mcast_macs, &mac, sizeof(mac), &gid, sizeof(gid), 0) == 0, "mcast_macs");
			if (in.frame.size() >= 6 && std::equal(kGroupMacs[i].begin(), kGroupMacs[i].end(), in.frame.begin()))
				group = gid;
		}
		if (group && *group < 4)
			members = g16 >> (4 * *group) & 0x0f;
		else
			want = miss;
	}
	std::set<int> outs;
	if (want == XDP_REDIRECT) {
		for (int i = 0; i < kPortsN; i++)
			if (members >> i & 1 && !(exclude && ports[static_cast<size_t>(i)].ifindex == from.ifindex))
				outs.insert(ports[static_cast<size_t>(i)].ifindex);
	} else if (want == XDP_TX) {
		outs.insert(from.ifindex);
	}

	uint32_t ifx = static_cast<uint32_t>(from.ifindex);
	Counts before = read_counts(s->maps.xdpctl_stats);
	auto r = xt::run_xdp(prog, in.frame, {.ingress_ifindex = ifx});
	if (in.frame.size() < 14) {
		if (r.err != -EINVAL)
			mismatch("xdp_broadcast", in, "runt: test run returned " + std::to_string(r.err) + ", not -EINVAL");
		return 0;
	}
	if (r.err || r.retval != want)
		mismatch("xdp_broadcast", in, "verdict " + std::to_string(r.retval) + " (err " + std::to_string(r.err) +
						      "), model " + std::to_string(want));
	if (r.data != in.frame)
		mismatch("xdp_broadcast", in, "frame changed:\n" + hex(r.data));
	Counts d = diff(read_counts(s->maps.xdpctl_stats), before), m;
	if (stats_on) {
		m.pkts[want] = 1; // one XDP_REDIRECT per frame, whatever the number of copies
		m.bytes[want] = in.frame.size();
	}
	if (!(d == m))
		mismatch("xdp_broadcast", in, "xdpctl_stats " + describe(d) + ", model " + describe(m));

	auto l = xt::run_xdp(prog, in.frame, {.ingress_ifindex = ifx, .live = true});
	if (l.err)
		mismatch("xdp_broadcast", in, "live test run failed: " + std::to_string(l.err));
	auto got = capture->take(outs.size(), outs.empty() ? 1 : 500);
	std::set<int> seen_ports;
	std::string seen, model;
	bool bytes_ok = true;
	for (const auto &[port, b] : got) {
		seen += " " + std::to_string(port) + (b == in.frame ? "" : "(other bytes)");
		bytes_ok &= b == in.frame;
		seen_ports.insert(port);
	}
	for (int p : outs)
		model += " " + std::to_string(p);
	if (!bytes_ok || got.size() != outs.size() || seen_ports != outs)
		mismatch("xdp_broadcast", in, "copies: model on ports" + (model.empty() ? " none" : model) +
						      "; the wire saw" + (seen.empty() ? " none" : seen));
	return 0;
}
