// xdp_pass against its model: every frame XDP_PASS, untouched, data_meta untouched, counted once
// under XDP_PASS with its length (or not at all with xdpctl_stats_on = 0).
//
//   cfg[0]  bit 0: xdpctl_stats_on = 0     cfg[1]  data_meta handed in: (cfg[1] % 9) * 4 bytes
#include "fuzz.hpp"
#include "prog_run.hpp"
#include "xdp_pass.skel.h"

using namespace fz;

namespace {

xdp_pass *instance(bool stats_on)
{
	return fz::instance(stats_on, xdp_pass__open, xdp_pass__load, xdp_pass__destroy,
			    [&](xdp_pass *s) { s->rodata->xdpctl_stats_on = stats_on; });
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	enter_private_netns();
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input in = decode(data, size);
	bool stats_on = !(in.cfg[0] & 1);
	Bytes meta;
	for (size_t i = 0; i < (in.cfg[1] % 9u) * 4; i++)
		meta.push_back(in.cfg[2 + i % 14]);
	xdp_pass *s = instance(stats_on);
	Counts before = read_counts(s->maps.xdpctl_stats);
	auto r = xt::run_xdp(s->progs.xdp_pass_prog, in.frame, {.meta = meta});
	if (in.frame.size() < 14) {
		if (r.err != -EINVAL)
			mismatch("xdp_pass", in, "runt: test run returned " + std::to_string(r.err) + ", not -EINVAL");
		return 0;
	}
	if (r.err || r.retval != XDP_PASS)
		mismatch("xdp_pass", in, "verdict " + std::to_string(r.retval) + " (err " + std::to_string(r.err) + ")");
	if (r.data != in.frame || r.meta != meta)
		mismatch("xdp_pass", in, "frame or data_meta changed:\n" + hex(r.meta) + "|" + hex(r.data));
	Counts d = diff(read_counts(s->maps.xdpctl_stats), before), m;
	if (stats_on) {
		m.pkts[XDP_PASS] = 1;
		m.bytes[XDP_PASS] = in.frame.size();
	}
	if (!(d == m))
		mismatch("xdp_pass", in, "xdpctl_stats " + describe(d) + ", model " + describe(m));
	return 0;
}
