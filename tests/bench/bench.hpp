// The benchmark runner's shared parts: how a figure is measured and recorded.
//
// A figure is a pair: ours and a baseline doing the same work and nothing else, measured
// interleaved (ours, baseline, baseline, ours, ...) in one run so that noise from the shared
// machine hits both alike. Each round yields one sample of each; the ratio is taken per round
// (baseline / ours: above 1 we are faster, below we are slower) and reported as median and
// min-max, like the samples.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

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
// Device-bound programs (devbound.cpp): not a default section, and refused unless
// XDPCTL_DEVBOUND_LIVE=1 (the kernel lane's guest sets it; see tests/harness/kernel.hpp).
bool devbound_allowed();
void devbound(const Config &c, std::vector<Figure> &out);

} // namespace bench
