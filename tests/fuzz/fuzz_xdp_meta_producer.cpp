// xdp_meta_producer against its model (model.cpp, meta_model): BPF_PROG_TEST_RUN of every frame,
// with meta_marks, default_mark, the counters switch and an incoming data_meta from the
// configuration bytes; verdict, bytes, data_meta and both counter maps compared per frame.
//
//   cfg[0]    bits 0-1: default_mark 0, 7, 0xffffffff or 0; bit 2: xdpctl_stats_on = 0
//   cfg[1]    which of kPorts have an entry in meta_marks; cfg[2..8] their marks (0 = none)
//   cfg[9]    data_meta handed in: (cfg[9] % 9) * 4 bytes of cfg[10..15] repeated
#include <map>

#include "fuzz.hpp"
#include "model.hpp"
#include "prog_run.hpp"
#include "xdp_meta_producer.skel.h"

using namespace fz;

namespace {

xdp_meta_producer *instance(uint32_t default_mark, bool stats_on)
{
	return fz::instance(std::pair{default_mark, stats_on}, xdp_meta_producer__open, xdp_meta_producer__load,
			    xdp_meta_producer__destroy, [&](xdp_meta_producer *s) {
				    s->rodata->default_mark = default_mark;
				    s->rodata->xdpctl_stats_on = stats_on;
			    });
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
	static const uint32_t defaults[] = {0, 7, 0xffffffff, 0};
	MetaConfig c;
	c.default_mark = defaults[in.cfg[0] & 3];
	bool stats_on = !(in.cfg[0] & 4);
	for (size_t i = 0; i < kNumPorts; i++)
		if (in.cfg[1] >> i & 1)
			c.marks[kPorts[i]] = in.cfg[2 + i];
	for (size_t i = 0; i < (in.cfg[9] % 9u) * 4; i++)
		c.meta_in.push_back(in.cfg[10 + i % 6]);

	xdp_meta_producer *s = instance(c.default_mark, stats_on);
	for (uint16_t p : kPorts) {
		uint32_t key = p, mark = c.marks.count(p) ? c.marks[p] : 0;
		must(bpf_map__update_elem(s->maps.meta_marks, &key, sizeof(key), &mark, sizeof(mark), 0) == 0,
		     "meta_marks update");
	}
	Counts before = read_counts(s->maps.xdpctl_stats);
	uint64_t cnt0[XDPCTL_METACNT_MAX];
	for (uint32_t k = 0; k < XDPCTL_METACNT_MAX; k++)
		cnt0[k] = percpu_sum(s->maps.meta_counters, k);

	auto r = xt::run_xdp(s->progs.xdp_meta_producer, in.frame, {.meta = c.meta_in});
	if (in.frame.size() < 14) {
		// the kernel's contract, not the program's: a test run takes at least an Ethernet header
		if (r.err != -EINVAL)
			mismatch("xdp_meta_producer", in, "runt: test run returned " + std::to_string(r.err) + ", not -EINVAL");
		return 0;
	}
	if (r.err)
		mismatch("xdp_meta_producer", in, "test run failed: " + std::to_string(r.err));

	MetaVerdict want = meta_model(in.frame, c);
	if (r.retval != XDP_PASS)
		mismatch("xdp_meta_producer", in, "verdict " + std::to_string(r.retval) + ", model XDP_PASS");
	if (r.data != in.frame)
		mismatch("xdp_meta_producer", in, "frame changed:\n" + hex(r.data));
	if (r.meta != want.meta_out)
		mismatch("xdp_meta_producer", in, "data_meta\n  program " + hex(r.meta) + "\n  model   " + hex(want.meta_out));
	uint64_t got[XDPCTL_METACNT_MAX], exp[XDPCTL_METACNT_MAX] = {want.no_room, want.no_flow, want.marked};
	for (uint32_t k = 0; k < XDPCTL_METACNT_MAX; k++) {
		got[k] = percpu_sum(s->maps.meta_counters, k) - cnt0[k];
		if (got[k] != exp[k])
			mismatch("xdp_meta_producer", in,
				 "meta_counters[" + std::to_string(k) + "] +" + std::to_string(got[k]) + ", model +" +
					 std::to_string(exp[k]) + " (0 no_room, 1 no_flow, 2 marked)");
	}
	Counts d = diff(read_counts(s->maps.xdpctl_stats), before), m;
	if (stats_on) {
		m.pkts[XDP_PASS] = 1;
		m.bytes[XDP_PASS] = in.frame.size();
	}
	if (!(d == m))
		mismatch("xdp_meta_producer", in, "xdpctl_stats " + describe(d) + ", model " + describe(m));
	return 0;
}
