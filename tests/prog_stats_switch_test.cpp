// The counters switch (xdpctl_stats_on in .rodata, bpf/lib/stats.h) through BPF_PROG_TEST_RUN:
// with it on a program counts every verdict it takes; with it off the verdict and the output
// bytes are the same, the counters stay zero, and the verifier has removed the counting code
// (the translated program is shorter). One row per program that counts through xdpctl_count.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "prog_run.hpp"
#include "xdp_meta_producer.skel.h"
#include "xdp_pass.skel.h"
#include "xdp_redirect.skel.h"
#include "xdpctl/skeleton.hpp"

using namespace xt;

namespace {

struct Loaded {
	int prog_fd = -1;
	int stats_fd = -1;
	std::function<void()> keep; // owns the skeleton
};

struct Row {
	const char *what;
	std::function<Loaded(bool counters)> load;
	uint32_t verdict;
};

// Opens skeleton S, sets its switch (and cfg), loads it; the program is prog(s).
template <class S>
Loaded load_skel(const char *name, bool counters, const std::function<bpf_program *(S *)> &prog,
		 const std::function<void(S *)> &cfg = {})
{
	auto s = xdpctl::open_skel<S>(name);
	if (!s) {
		ADD_FAILURE() << s.error().message();
		return {};
	}
	(*s)->rodata->xdpctl_stats_on = counters ? 1 : 0;
	if (cfg)
		cfg(s->get());
	if (auto st = xdpctl::load_skel(*s, name); !st) {
		ADD_FAILURE() << st.error().message();
		return {};
	}
	auto shared = std::make_shared<xdpctl::Skel<S>>(std::move(*s));
	return {bpf_program__fd(prog(shared->get())), bpf_map__fd((*shared)->maps.xdpctl_stats), [shared] {}};
}

std::vector<Row> rows()
{
	return {
		{"xdp_pass",
		 [](bool on) { return load_skel<xdp_pass>("xdp_pass", on, [](xdp_pass *s) { return s->progs.xdp_pass_prog; }); },
		 XDP_PASS},
		{"xdp_redirect_devmap_hash, empty map, miss_action XDP_DROP",
		 [](bool on) {
			 return load_skel<xdp_redirect>(
				 "xdp_redirect", on, [](xdp_redirect *s) { return s->progs.xdp_redirect_devmap_hash; },
				 [](xdp_redirect *s) { s->rodata->miss_action = XDP_DROP; });
		 },
		 XDP_DROP},
		{"xdp_redirect_devmap, empty map, miss_action XDP_TX",
		 [](bool on) {
			 return load_skel<xdp_redirect>(
				 "xdp_redirect", on, [](xdp_redirect *s) { return s->progs.xdp_redirect_devmap; },
				 [](xdp_redirect *s) { s->rodata->miss_action = XDP_TX; });
		 },
		 XDP_TX},
		{"xdp_meta_producer",
		 [](bool on) {
			 return load_skel<xdp_meta_producer>("xdp_meta_producer", on,
							    [](xdp_meta_producer *s) { return s->progs.xdp_meta_producer; });
		 },
		 XDP_PASS},
	};
}

uint32_t xlated_len(int prog_fd)
{
	bpf_prog_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.xlated_prog_len;
}

const Bytes kFrame = Packet().eth(kMacB, kMacA).ipv4("10.0.0.1", "10.0.0.2").udp(1000, 2000).payload(18).build();
constexpr int kFrames = 7;

} // namespace

TEST(StatsSwitch, OnCountsEveryFrameOffCountsNoneWithTheSameVerdictAndBytes)
{
	for (const auto &r : rows()) {
		SCOPED_TRACE(r.what);
		Loaded on = r.load(true), off = r.load(false);
		ASSERT_GE(on.prog_fd, 0) << "loaded with counters on";
		ASSERT_GE(off.prog_fd, 0) << "loaded with counters off";
		for (int i = 0; i < kFrames; i++) {
			auto a = run_xdp(on.prog_fd, kFrame), b = run_xdp(off.prog_fd, kFrame);
			ASSERT_EQ(a.err, 0) << "test run, counters on";
			ASSERT_EQ(b.err, 0) << "test run, counters off";
			EXPECT_EQ(a.retval, r.verdict) << "verdict, counters on";
			EXPECT_EQ(b.retval, r.verdict) << "verdict, counters off";
			EXPECT_EQ(b.data, a.data) << "same output bytes";
			EXPECT_EQ(b.meta, a.meta) << "same data_meta";
		}
		auto con = read_action_stats(on.stats_fd), coff = read_action_stats(off.stats_fd);
		EXPECT_EQ(con[r.verdict].packets, static_cast<uint64_t>(kFrames)) << "on: every frame counted";
		EXPECT_EQ(con[r.verdict].bytes, static_cast<uint64_t>(kFrames) * kFrame.size()) << "on: bytes counted";
		for (uint32_t a = 0; a < XDPCTL_ACTION_MAX; a++) {
			EXPECT_EQ(coff[a].packets, 0u) << "off: no packet counted, action " << a;
			EXPECT_EQ(coff[a].bytes, 0u) << "off: no byte counted, action " << a;
		}
	}
}

TEST(StatsSwitch, OffTheVerifierRemovesTheCountingCode)
{
	for (const auto &r : rows()) {
		SCOPED_TRACE(r.what);
		Loaded on = r.load(true), off = r.load(false);
		ASSERT_GE(on.prog_fd, 0);
		ASSERT_GE(off.prog_fd, 0);
		uint32_t lon = xlated_len(on.prog_fd), loff = xlated_len(off.prog_fd);
		ASSERT_GT(loff, 0u) << "program info";
		// the lookup, the null check and the two adds are at least 6 instructions of 8 bytes
		EXPECT_LE(loff + 6 * 8, lon) << "translated length on " << lon << ", off " << loff;
	}
}
