// xdp_redirect against its model (written from bpf/xdp_redirect.bpf.c's header): a frame from a
// port with an entry is redirected, untouched, to the entry's port; any other gets miss_action.
// Each frame runs twice: a plain test run (verdict, bytes, xdpctl_stats) and a live one (what
// left which port, read on the peers by fuzz_capture: a miss with XDP_TX leaves through the
// ingress port, every other miss nowhere).
//
//   cfg[0]  bit 0: DEVMAP_HASH flavour; bit 1: xdpctl_stats_on = 0
//   cfg[1]  miss_action (% 4: XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX)
//   cfg[2..5]  per port: its entry (% 5: 0 none, k the k-th port)
//   cfg[6]  the ingress port (% 4)
#include <map>

#include "fuzz.hpp"
#include "prog_run.hpp"
#include "xdp_redirect.skel.h"

using namespace fz;

namespace {

constexpr int kPortsN = 4;
std::vector<Port> ports;
Capture *capture;

xdp_redirect *instance(uint32_t miss, bool stats_on)
{
	return fz::instance(std::pair{miss, stats_on}, xdp_redirect__open, xdp_redirect__load, xdp_redirect__destroy,
			    [&](xdp_redirect *s) {
				    s->rodata->miss_action = miss;
				    s->rodata->xdpctl_stats_on = stats_on;
			    });
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	enter_private_netns();
	for (int i = 0; i < kPortsN; i++)
		ports.push_back(add_port("r" + std::to_string(i)));
	capture = new Capture(ports);
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input in = decode(data, size);
	bool hash = in.cfg[0] & 1, stats_on = !(in.cfg[0] & 2);
	uint32_t miss = in.cfg[1] % 4;
	const Port &from = ports[in.cfg[6] % kPortsN];
	xdp_redirect *s = instance(miss, stats_on);
	bpf_map *map = hash ? s->maps.tx_port_hash : s->maps.tx_port;
	bpf_program *prog = hash ? s->progs.xdp_redirect_devmap_hash : s->progs.xdp_redirect_devmap;

	int target = 0; // the ingress port's entry
	for (int i = 0; i < kPortsN; i++) {
		uint32_t key = static_cast<uint32_t>(ports[static_cast<size_t>(i)].ifindex);
		int k = in.cfg[2 + i] % 5;
		if (!k) {
			bpf_map__delete_elem(map, &key, sizeof(key), 0);
			continue;
		}
		struct bpf_devmap_val v {};
		v.ifindex = static_cast<uint32_t>(ports[static_cast<size_t>(k - 1)].ifindex);
		must(bpf_map__update_elem(map, &key, sizeof(key), &v, sizeof(v), 0) == 0, "tx_port entry");
		if (key == static_cast<uint32_t>(from.ifindex))
			target = static_cast<int>(v.ifindex);
	}
	// the other flavour's map stays empty: a program reads only its own
	for (int i = 0; i < kPortsN; i++) {
		uint32_t key = static_cast<uint32_t>(ports[static_cast<size_t>(i)].ifindex);
		bpf_map__delete_elem(hash ? s->maps.tx_port : s->maps.tx_port_hash, &key, sizeof(key), 0);
	}

	uint32_t ifx = static_cast<uint32_t>(from.ifindex);
	Counts before = read_counts(s->maps.xdpctl_stats);
	auto r = xt::run_xdp(prog, in.frame, {.ingress_ifindex = ifx});
	if (in.frame.size() < 14) {
		if (r.err != -EINVAL)
			mismatch("xdp_redirect", in, "runt: test run returned " + std::to_string(r.err) + ", not -EINVAL");
		return 0;
	}
	uint32_t want = target ? XDP_REDIRECT : miss;
	if (r.err || r.retval != want)
		mismatch("xdp_redirect", in, "verdict " + std::to_string(r.retval) + " (err " + std::to_string(r.err) +
						     "), model " + std::to_string(want));
	if (r.data != in.frame)
		mismatch("xdp_redirect", in, "frame changed:\n" + hex(r.data));
	Counts d = diff(read_counts(s->maps.xdpctl_stats), before), m;
	if (stats_on) {
		m.pkts[want] = 1;
		m.bytes[want] = in.frame.size();
	}
	if (!(d == m))
		mismatch("xdp_redirect", in, "xdpctl_stats " + describe(d) + ", model " + describe(m));

	// live: where it really goes
	auto l = xt::run_xdp(prog, in.frame, {.ingress_ifindex = ifx, .live = true});
	if (l.err)
		mismatch("xdp_redirect", in, "live test run failed: " + std::to_string(l.err));
	int out = target ? target : miss == XDP_TX ? from.ifindex : 0;
	auto got = capture->take(out ? 1 : 0, out ? 500 : 1);
	std::string seen;
	for (const auto &[port, b] : got)
		seen += " port " + std::to_string(port) + (b == in.frame ? " (the frame)" : " (other bytes)");
	if (out ? (got.size() != 1 || got[0].first != out || got[0].second != in.frame) : !got.empty())
		mismatch("xdp_redirect", in, "model: the frame leaves " + (out ? "port " + std::to_string(out) : "nowhere") +
						     "; the wire saw:" + (seen.empty() ? " nothing" : seen));
	return 0;
}
