// The benchmark runner's shared parts: how a figure is measured and recorded.
//
// A figure is a pair: ours and a baseline doing the same work and nothing else, measured
// interleaved (ours, baseline, baseline, ours, ...) in one run so that noise from the shared
// machine hits both alike. Each round yields one sample of each; the ratio is taken per round
// (baseline / ours: above 1 we are faster, below we are slower) and reported as median and
// min-max, like the samples.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "xdpctl/devmap.hpp"
#include "xdpctl/skeleton.hpp"

namespace bench {

// Opens and loads skeleton S (before_load sets its rodata); a benchmark cannot go on without it.
template <class S>
xdpctl::Skel<S> load_skel_or_throw(const std::string &name, const std::function<void(S *)> &before_load = {})
{
	auto s = xdpctl::open_skel<S>(name);
	if (!s)
		throw std::runtime_error(s.error().message());
	if (before_load)
		before_load(s->get());
	if (auto st = xdpctl::load_skel(*s, name); !st)
		throw std::runtime_error(st.error().message());
	return std::move(*s);
}

// A broadcast group as `xdpctl broadcast add` makes it: xdpctl::group_add through the skeleton's
// map-of-maps slot, so the devmap grows to group_devmap_size(ports) exactly as for a user.
inline void fill_group_ours(bpf_map *outer, const char *name, const std::vector<uint32_t> &ports)
{
	std::vector<xdpctl::GroupPort> ps;
	for (uint32_t p : ports)
		ps.push_back({p, -1});
	auto r = xdpctl::group_add({bpf_map__fd(outer), 0, name}, ps);
	if (!r)
		throw std::runtime_error(r.error().message());
}

// The bare way: each port in a devmap of exactly the group's size (set before load), keyed by
// slot 0..n-1 in a DEVMAP and by ifindex in a DEVMAP_HASH.
inline void fill_group_base(bpf_map *m, const std::vector<uint32_t> &ports)
{
	bool slots = bpf_map__type(m) == BPF_MAP_TYPE_DEVMAP;
	for (uint32_t i = 0; i < ports.size(); i++) {
		struct bpf_devmap_val v {};
		v.ifindex = ports[i];
		uint32_t key = slots ? i : ports[i];
		if (int err = bpf_map__update_elem(m, &key, sizeof(key), &v, sizeof(v), BPF_ANY))
			throw std::runtime_error(std::string("devmap entry in ") + bpf_map__name(m) + ": " + strerror(-err));
	}
}

struct Spread {
	double median = 0, min = 0, max = 0;
};
Spread spread(std::vector<double> v);

struct Config {
	bool smoke = false; // tiny repeats: proves every benchmark runs, measures nothing
	int rounds = 0;    // data plane: samples are cheap
	int cp_rounds = 0; // control plane: a round takes up to seconds
	int pipe_rounds = 0; // live pipeline: a round is two runs of 2^19 frames per generator
};

// One side of a figure: what was measured and its samples (in `unit`).
struct Side {
	std::string what;
	std::vector<double> samples;
};

struct Figure {
	std::string group; // "dataplane", "controlplane", "pipeline"
	std::string name;  // short, for the table and the chart
	std::string unit;  // "ns/pkt", "ms", ...
	std::string how;   // mode, sizes: what a reader needs to repeat it
	Side ours, baseline;
	// The ratio's meaning: baseline / ours when smaller is better (times), ours / baseline
	// when larger is better (rates).
	bool higher_is_better = false;
	nlohmann::json extra = nlohmann::json::object();
};

// Runs measure_ours and measure_baseline `rounds` times each, alternating which goes first.
void interleave(int rounds, Figure &f, const std::function<double()> &measure_ours,
		const std::function<double()> &measure_baseline);

nlohmann::json to_json(const Figure &f);

double now_ns();

// The sections of the suite; each appends its figures and throws std::runtime_error on a
// setup failure (the run then reports it and exits non-zero).
void dataplane(const Config &c, std::vector<Figure> &out);
void controlplane(const Config &c, std::vector<Figure> &out);
void pipeline(const Config &c, std::vector<Figure> &out);
// xdpctl against xdp-bench (peer.cpp), when XDP_BENCH names its binary.
void peer(const Config &c, std::vector<Figure> &out);
// A figure this run could not measure, and why: the table says so (results.json "not_measured").
void note_not_measured(const std::string &figure, const std::string &why);
std::vector<std::pair<std::string, std::string>> &not_measured_list();
// Device-bound programs (devbound.cpp): not a default section, and refused unless
// XDPCTL_DEVBOUND_LIVE=1 (the kernel lane's guest sets it; see tests/harness/kernel.hpp).
bool devbound_allowed();
void devbound(const Config &c, std::vector<Figure> &out);

} // namespace bench
