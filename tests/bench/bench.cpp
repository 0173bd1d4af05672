// xdpctl_bench: the benchmark runner behind `make bench` (tests/bench/run.sh drives it).
//
//   xdpctl_bench --out DIR [--smoke] [--only dataplane|controlplane|pipeline|devbound] [--commit SHA]
//
// The default sections are the host's three; devbound (device-bound programs) runs only when
// named, and only with XDPCTL_DEVBOUND_LIVE=1.
//
// Writes DIR/results.json (machine, kernel, commit, every figure with median and min-max of
// ours and of its baseline, and their ratio), DIR/chart.dat (gnuplot input: one row per figure)
// and DIR/table.md (the README table). Nothing here asserts a time. A small runner rather than
// Google Benchmark: each figure needs ours and its baseline interleaved round by round, which
// Google Benchmark's one-benchmark-at-a-time repetitions cannot give.
#include "bench.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <stdexcept>

namespace bench {

Spread spread(std::vector<double> v)
{
	if (v.empty())
		return {};
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return {med, v.front(), v.back()};
}

double now_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void interleave(int rounds, Figure &f, const std::function<double()> &measure_ours,
		const std::function<double()> &measure_baseline)
{
	for (int r = 0; r < rounds; r++) {
		// alternate who goes first so that a slow start or a drift favours neither
		if (r % 2 == 0) {
			f.ours.samples.push_back(measure_ours());
			f.baseline.samples.push_back(measure_baseline());
		} else {
			f.baseline.samples.push_back(measure_baseline());
			f.ours.samples.push_back(measure_ours());
		}
	}
}

namespace {

nlohmann::json spread_json(const Spread &s)
{
	return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

std::vector<double> ratios(const Figure &f)
{
	std::vector<double> r;
	for (size_t i = 0; i < f.ours.samples.size() && i < f.baseline.samples.size(); i++) {
		double o = f.ours.samples[i], b = f.baseline.samples[i];
		if (o > 0 && b > 0)
			r.push_back(f.higher_is_better ? o / b : b / o);
	}
	return r;
}

std::string fmt_num(double v)
{
	char buf[32];
	if (v >= 100)
		snprintf(buf, sizeof(buf), "%.0f", v);
	else if (v >= 10)
		snprintf(buf, sizeof(buf), "%.1f", v);
	else
		snprintf(buf, sizeof(buf), "%.2f", v);
	return buf;
}

std::string cell(const Spread &s)
{
	return fmt_num(s.median) + " (" + fmt_num(s.min) + "–" + fmt_num(s.max) + ")";
}

std::string cpu_model()
{
	std::ifstream in("/proc/cpuinfo");
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("model name", 0) == 0) {
			auto p = line.find(':');
			return p == std::string::npos ? line : line.substr(p + 2);
		}
	return "unknown";
}

std::string utc_now()
{
	time_t t = time(nullptr);
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return buf;
}

int usage(const char *msg)
{
	std::cerr << "xdpctl_bench: " << msg
		  << "\nusage: xdpctl_bench --out DIR [--smoke] [--only dataplane|controlplane|pipeline|devbound] "
		     "[--commit SHA]\n";
	return 2;
}

} // namespace

nlohmann::json to_json(const Figure &f)
{
	nlohmann::json j = {
		{"group", f.group},
		{"name", f.name},
		{"unit", f.unit},
		{"how", f.how},
		{"rounds", f.ours.samples.size()},
		{"ours", {{"what", f.ours.what}, {"samples", f.ours.samples}}},
		{"baseline", {{"what", f.baseline.what}, {"samples", f.baseline.samples}}},
		{"ratio", spread_json(spread(ratios(f)))},
		{"ratio_is", f.higher_is_better ? "ours / baseline (rate)" : "baseline / ours (time)"},
	};
	j["ours"].update(spread_json(spread(f.ours.samples)));
	j["baseline"].update(spread_json(spread(f.baseline.samples)));
	if (!f.extra.empty())
		j["extra"] = f.extra;
	return j;
}

} // namespace bench

int main(int argc, char **argv)
{
	using namespace bench;
	std::string out_dir, commit = "unknown";
	std::set<std::string> only;
	Config cfg;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc)
				throw std::invalid_argument(a + " needs a value");
			return argv[++i];
		};
		try {
			if (a == "--out")
				out_dir = value();
			else if (a == "--smoke")
				cfg.smoke = true;
			else if (a == "--commit")
				commit = value();
			else if (a == "--only")
				only.insert(value());
			else
				return usage(("unknown argument " + a).c_str());
		} catch (const std::invalid_argument &e) {
			return usage(e.what());
		}
	}
	if (out_dir.empty())
		return usage("--out DIR is required");
	for (const auto &s : only)
		if (s != "dataplane" && s != "controlplane" && s != "pipeline" && s != "devbound")
			return usage(("unknown section " + s).c_str());
	if (only.count("devbound") && !devbound_allowed()) {
		std::cerr << "xdpctl_bench: refusing --only devbound here: it binds programs to a veth and removes the "
			     "veth, which oopsed this project's 6.18.44 host and left RTNL held; `make bench` runs it in "
			     "the kernel lane's 6.12 guest (or set XDPCTL_DEVBOUND_LIVE=1 on a disposable machine)\n";
		return 1;
	}
	cfg.rounds = cfg.smoke ? 2 : 21;
	cfg.cp_rounds = cfg.smoke ? 2 : 7;

	std::vector<Figure> figs;
	// devbound is never a default section: it runs only when asked for (see above)
	auto want = [&](const char *s) { return only.empty() ? std::string(s) != "devbound" : only.count(s) > 0; };
	try {
		if (want("dataplane"))
			dataplane(cfg, figs);
		if (want("controlplane"))
			controlplane(cfg, figs);
		if (want("pipeline"))
			pipeline(cfg, figs);
		if (want("devbound"))
			devbound(cfg, figs);
	} catch (const std::exception &e) {
		std::cerr << "xdpctl_bench: " << e.what() << "\n";
		return 1;
	}

	struct utsname u {};
	uname(&u);
	nlohmann::json j = {
		{"machine", {{"nproc", sysconf(_SC_NPROCESSORS_ONLN)}, {"cpu", cpu_model()}, {"kernel", u.release}}},
		{"commit", commit},
		{"date", utc_now()},
		{"smoke", cfg.smoke},
		{"rounds",
		 {{"dataplane", cfg.rounds}, {"controlplane", cfg.cp_rounds}, {"pipeline", cfg.cp_rounds}, {"devbound", cfg.rounds}}},
		{"figures", nlohmann::json::array()},
	};
	for (const auto &f : figs)
		j["figures"].push_back(to_json(f));

	std::ofstream(out_dir + "/results.json") << j.dump(2) << "\n";

	// chart.dat: index, label, ratio median, min, max (gnuplot: yerrorbars over boxes)
	std::ofstream dat(out_dir + "/chart.dat");
	int n = 0;
	for (const auto &fj : j["figures"])
		dat << n++ << " \"" << fj["name"].get<std::string>() << "\" " << fj["ratio"]["median"] << " "
		    << fj["ratio"]["min"] << " " << fj["ratio"]["max"] << "\n";

	std::ofstream md(out_dir + "/table.md");
	md << "One run of `make bench` on a shared " << j["machine"]["nproc"] << "-core VM (" << j["machine"]["cpu"].get<std::string>()
	   << ", Linux " << u.release << ", commit " << commit.substr(0, 12) << ", " << j["date"].get<std::string>()
	   << "), other builds running: medians of " << cfg.rounds << " (data plane) or " << cfg.cp_rounds
	   << " (control plane, pipeline) interleaved rounds, min–max in parentheses. Ratio = baseline / ours per round "
	      "for times and sizes, ours / baseline for rates: above 1, ours is better.\n\n";
	md << "| figure | unit | ours | baseline | ratio |\n|---|---|---|---|---|\n";
	for (const auto &f : figs) {
		auto r = spread(ratios(f));
		md << "| " << f.name << " | " << f.unit << " | " << cell(spread(f.ours.samples)) << " | "
		   << cell(spread(f.baseline.samples)) << " | " << fmt_num(r.median) << " (" << fmt_num(r.min) << "–"
		   << fmt_num(r.max) << ") |\n";
	}
	std::cout << "xdpctl_bench: " << figs.size() << " figures in " << out_dir << "/results.json\n";
	return 0;
}
