// xdp_egress (the devmap egress program) against its model (model.cpp, egress_model). The kernel
// refuses a plain test run of a devmap program, so every frame is sent with live frames
// (BPF_F_TEST_XDP_LIVE_FRAMES) through egress_ingress (tests/progs), which redirects it into a
// devmap entry whose egress program is an xdp_egress instance configured from the input; what
// left the port is read on its peer (fuzz_capture) and compared byte for byte, with the
// instance's xdpctl_stats and egress_counters.
//
//   cfg[0..5]  src_mac          cfg[6..7]  vlan_tci         cfg[8] vlan_proto: 0, 0x8100, 0x88a8,
//   cfg[9]     any (cfg[8] = 3: cfg[9] << 8 | cfg[10])      cfg[11] vlan_action (% 4: 3 is no action)
//   cfg[12]    drop bits (& 0x0f: bit 3 is no policy)       cfg[13] bit 0 set_src_mac, bit 1 stats off
#include <array>
#include <cstring>

#include "egress_ingress.skel.h"
#include "fuzz.hpp"
#include "model.hpp"
#include "prog_run.hpp"
#include "xdp_egress.skel.h"

using namespace fz;

namespace {

Port in_port, out_port;
egress_ingress *ingress;
Capture *capture;

// Instances by configuration, the 32 most recent kept loaded (each load costs a verification).
xdp_egress *instance(const struct xdpctl_egress_port &cfg, bool stats_on)
{
	std::array<uint8_t, sizeof(cfg) + 1> key{};
	std::memcpy(key.data(), &cfg, sizeof(cfg));
	key[sizeof(cfg)] = stats_on;
	return fz::instance(
		key, xdp_egress__open, xdp_egress__load, xdp_egress__destroy,
		[&](xdp_egress *s) {
			std::memcpy(const_cast<struct xdpctl_egress_port *>(&s->rodata->port_cfg), &cfg, sizeof(cfg));
			s->rodata->xdpctl_stats_on = stats_on;
			bpf_program__set_autoload(s->progs.xdp_egress_frags, false);
		},
		32);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	enter_private_netns();
	in_port = add_port("fin");
	out_port = add_port("fout");
	ingress = egress_ingress__open_and_load();
	must(ingress != nullptr, "load egress_ingress");
	capture = new Capture({in_port, out_port});
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input in = decode(data, size);
	struct xdpctl_egress_port cfg {};
	std::memcpy(cfg.src_mac, in.cfg, 6);
	cfg.vlan_tci = static_cast<uint16_t>(in.cfg[6] << 8 | in.cfg[7]);
	static const uint16_t protos[] = {0, 0x8100, 0x88a8};
	cfg.vlan_proto = in.cfg[8] % 4 == 3 ? static_cast<uint16_t>(in.cfg[9] << 8 | in.cfg[10]) : protos[in.cfg[8] % 4];
	cfg.vlan_action = in.cfg[11] % 4;
	cfg.drop = in.cfg[12] & 0x0f;
	cfg.set_src_mac = in.cfg[13] & 1;
	bool stats_on = !(in.cfg[13] & 2);

	xdp_egress *eg = instance(cfg, stats_on);
	struct bpf_devmap_val v {};
	v.ifindex = static_cast<uint32_t>(out_port.ifindex);
	v.bpf_prog.fd = bpf_program__fd(eg->progs.xdp_egress);
	uint32_t key = static_cast<uint32_t>(in_port.ifindex);
	must(bpf_map__update_elem(ingress->maps.tx_port, &key, sizeof(key), &v, sizeof(v), 0) == 0, "tx_port entry");

	Counts before = read_counts(eg->maps.xdpctl_stats);
	uint64_t c0[XDPCTL_EGRESS_CNT_MAX];
	for (uint32_t k = 0; k < XDPCTL_EGRESS_CNT_MAX; k++)
		c0[k] = percpu_sum(eg->maps.egress_counters, k);

	auto r = xt::run_xdp(ingress->progs.egress_redirect, in.frame, {.ingress_ifindex = key, .live = true});
	if (in.frame.size() < 14) {
		if (r.err != -EINVAL)
			mismatch("xdp_egress", in, "runt: live test run returned " + std::to_string(r.err) + ", not -EINVAL");
		return 0;
	}
	if (r.err)
		mismatch("xdp_egress", in, "live test run failed: " + std::to_string(r.err));

	EgressVerdict want = egress_model(in.frame, cfg);
	auto got = capture->take(want.transmitted ? 1 : 0, want.transmitted ? 500 : 1);
	std::string seen;
	for (const auto &[port, b] : got)
		seen += "\n  port " + std::to_string(port) + ": " + hex(b);
	if (want.transmitted) {
		if (got.size() != 1 || got[0].first != out_port.ifindex || got[0].second != want.out)
			mismatch("xdp_egress", in, "model sends on port " + std::to_string(out_port.ifindex) + ":\n  " +
							   hex(want.out) + "\nthe wire saw:" + (seen.empty() ? " nothing" : seen));
	} else if (!got.empty()) {
		mismatch("xdp_egress", in, "model drops; the wire saw:" + seen);
	}
	for (uint32_t k = 0; k < XDPCTL_EGRESS_CNT_MAX; k++) {
		uint64_t d = percpu_sum(eg->maps.egress_counters, k) - c0[k];
		if (d != want.counters[k])
			mismatch("xdp_egress", in, "egress_counters[" + std::to_string(k) + "] +" + std::to_string(d) +
							   ", model +" + std::to_string(want.counters[k]));
	}
	Counts d = diff(read_counts(eg->maps.xdpctl_stats), before), m;
	if (stats_on) {
		// XDP_PASS: bytes as transmitted; XDP_DROP: bytes as they came (include/xdpctl/egress.h)
		int a = want.transmitted ? XDP_PASS : XDP_DROP;
		m.pkts[a] = 1;
		m.bytes[a] = want.transmitted ? want.out.size() : in.frame.size();
	}
	if (!(d == m))
		mismatch("xdp_egress", in, "xdpctl_stats " + describe(d) + ", model " + describe(m));
	return 0;
}
