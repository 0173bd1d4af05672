// xdpctl_bench: the benchmark runner behind `make bench` (tests/bench/run.sh drives it).
//
//   xdpctl_bench --out DIR [--smoke] [--only dataplane|controlplane|pipeline|peer|devbound] [--commit SHA]
//   xdpctl_bench --out DIR --merge GUEST_RESULTS_JSON | --not-measured REASON
//
// The default sections are the host's four (peer measures only when XDP_BENCH names an
// xdp-bench binary, and otherwise records why it did not); devbound (device-bound programs) runs only when
// named, and only with XDPCTL_DEVBOUND_LIVE=1: run.sh runs it in the kernel lane's guest and
// merges the guest's results.json into the host's with --merge (or records with --not-measured
// why there is none).
//
// Writes DIR/results.json (machine, kernel, commit, every figure with median and min-max of
// ours and of its baseline, and their ratio), DIR/chart.dat (gnuplot input: one row per figure)
// and DIR/table.md (the table of docs/bench.md). Nothing here asserts a time. A small runner rather than
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

std::vector<std::pair<std::string, std::string>> &not_measured_list()
{
	static std::vector<std::pair<std::string, std::string>> l;
	return l;
}

void note_not_measured(const std::string &figure, const std::string &why)
{
	not_measured_list().emplace_back(figure, why);
}

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
	// one line: what is wrong, then the usage it breaks
	std::cerr << "xdpctl_bench: " << msg
		  << " (usage: xdpctl_bench --out DIR [--smoke] [--only dataplane|controlplane|pipeline|devbound] "
		     "[--commit SHA], or --out DIR --merge GUEST_RESULTS_JSON | --not-measured REASON)\n";
	return 2;
}

std::string cell(const nlohmann::json &side)
{
	return fmt_num(side["median"].get<double>()) + " (" + fmt_num(side["min"].get<double>()) + "–" +
	       fmt_num(side["max"].get<double>()) + ")";
}

// results.json, chart.dat and table.md from a results document (figures as to_json gives them).
void write_outputs(const std::string &out_dir, const nlohmann::json &j)
{
	std::ofstream(out_dir + "/results.json") << j.dump(2) << "\n";

	// chart.dat: index, label, ratio median, min, max (gnuplot: yerrorbars over boxes), 1 when
	// measured in the lane's guest (another colour)
	std::ofstream dat(out_dir + "/chart.dat");
	int n = 0;
	for (const auto &fj : j["figures"])
		dat << n++ << " \"" << fj["name"].get<std::string>() << "\" " << fj["ratio"]["median"] << " "
		    << fj["ratio"]["min"] << " " << fj["ratio"]["max"] << " " << (fj.contains("measured_in") ? 1 : 0) << "\n";

	const auto &m = j["machine"];
	std::ofstream md(out_dir + "/table.md");
	md << "One run of `make bench` on a shared " << m["nproc"] << "-core VM (" << m["cpu"].get<std::string>()
	   << ", Linux " << m["kernel"].get<std::string>() << ", commit " << j["commit"].get<std::string>().substr(0, 12)
	   << ", " << j["date"].get<std::string>() << "): medians of " << j["rounds"]["dataplane"] << " (data plane), "
	   << j["rounds"]["pipeline"] << " (pipeline) or " << j["rounds"]["controlplane"]
	   << " (control plane) interleaved rounds, min–max in parentheses. Ratio = baseline / ours per round "
	      "for times and sizes, ours / baseline for rates: above 1, ours is better.\n\n";
	md << "| figure | unit | ours | baseline | ratio |\n|---|---|---|---|---|\n";
	for (const auto &f : j["figures"])
		md << "| " << f["name"].get<std::string>() << " | " << f["unit"].get<std::string>() << " | " << cell(f["ours"])
		   << " | " << cell(f["baseline"]) << " | " << cell(f["ratio"]) << " |\n";
	if (j.contains("guest")) {
		const auto &g = j["guest"];
		md << "\nRows ending in \"" << g["label"].get<std::string>() << "\" were measured inside Debian's Linux "
		   << g["machine"]["kernel"].get<std::string>() << " booted by the kernel lane under qemu TCG (no KVM, "
		   << g["machine"]["nproc"] << " vCPUs) on the same machine, medians of " << g["rounds"]
		   << " interleaved rounds: device-bound programs are not run on this host (tests/harness/kernel.hpp). The "
		      "guest's time is emulated, so only their ratio compares with the rows above.\n";
	}
	for (const auto &nm : j.value("not_measured", nlohmann::json::array()))
		md << "\nNot measured in this run: the " << nm["figure"].get<std::string>() << ", because "
		   << nm["why"].get<std::string>() << ".\n";
}

// --merge: the device-bound figures from a run in the kernel lane's guest
// (`xdpctl_bench --only devbound` there) join the host's results in out_dir, their names marked
// with the guest's kernel series; --not-measured: the reason they are missing is recorded instead.
int merge(const std::string &out_dir, const std::string &guest_file, const std::string &not_measured)
{
	std::ifstream hin(out_dir + "/results.json");
	auto j = nlohmann::json::parse(hin, nullptr, false);
	if (!hin || j.is_discarded() || !j.contains("figures")) {
		std::cerr << "xdpctl_bench: --merge needs the host's " << out_dir << "/results.json\n";
		return 1;
	}
	if (!not_measured.empty()) {
		j["not_measured"].push_back({{"figure", "device-bound metadata figures (xdpctl_bench --only devbound, run in "
							"the kernel lane's 6.12 guest)"},
					     {"why", not_measured}});
		write_outputs(out_dir, j);
		return 0;
	}
	std::ifstream gin(guest_file);
	auto g = nlohmann::json::parse(gin, nullptr, false);
	if (!gin || g.is_discarded() || !g.contains("figures") || g["figures"].empty()) {
		std::cerr << "xdpctl_bench: " << guest_file << " holds no figures\n";
		return 1;
	}
	std::string kernel = g["machine"]["kernel"].get<std::string>();
	auto dot = kernel.find('.', kernel.find('.') + 1);
	std::string label = kernel.substr(0, std::min(dot, kernel.find_first_not_of("0123456789."))) + " TCG guest";
	for (auto f : g["figures"]) {
		f["name"] = f["name"].get<std::string>() + " (" + label + ")";
		f["measured_in"] = "kernel lane guest: Linux " + kernel + " under qemu TCG";
		j["figures"].push_back(f);
	}
	j["guest"] = {{"label", "(" + label + ")"},
		      {"machine", g["machine"]},
		      {"commit", g["commit"]},
		      {"date", g["date"]},
		      {"rounds", g["rounds"]["devbound"]}};
	write_outputs(out_dir, j);
	std::cout << "xdpctl_bench: " << g["figures"].size() << " figure(s) from " << guest_file << " merged into "
		  << out_dir << "/results.json\n";
	return 0;
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
	std::string out_dir, commit = "unknown", merge_file, not_measured;
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
			else if (a == "--merge")
				merge_file = value();
			else if (a == "--not-measured")
				not_measured = value();
			else
				return usage(("unknown argument " + a).c_str());
		} catch (const std::invalid_argument &e) {
			return usage(e.what());
		}
	}
	if (out_dir.empty())
		return usage("--out DIR is required");
	if (!merge_file.empty() || !not_measured.empty())
		return merge(out_dir, merge_file, not_measured);
	for (const auto &s : only)
		if (s != "dataplane" && s != "controlplane" && s != "pipeline" && s != "peer" && s != "devbound")
			return usage(("unknown section " + s).c_str());
	if (only.count("devbound") && !devbound_allowed()) {
		std::cerr << "xdpctl_bench: refusing --only devbound here: it binds programs to a veth and removes the "
			     "veth, which oopsed this project's 6.18.44 host and left RTNL held; `make bench` runs it in "
			     "the kernel lane's 6.12 guest (or set XDPCTL_DEVBOUND_LIVE=1 on a disposable machine)\n";
		return 1;
	}
	cfg.rounds = cfg.smoke ? 2 : 21;
	cfg.cp_rounds = cfg.smoke ? 2 : 7;
	cfg.pipe_rounds = cfg.smoke ? 2 : 11;

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
		if (want("peer"))
			peer(cfg, figs);
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
		 {{"dataplane", cfg.rounds}, {"controlplane", cfg.cp_rounds}, {"pipeline", cfg.pipe_rounds}, {"peer", cfg.pipe_rounds}, {"devbound", cfg.rounds}}},
		{"figures", nlohmann::json::array()},
	};
	for (const auto &f : figs)
		j["figures"].push_back(to_json(f));
	for (const auto &[figure, why] : not_measured_list())
		j["not_measured"].push_back({{"figure", figure}, {"why", why}});
	write_outputs(out_dir, j);
	std::cout << "xdpctl_bench: " << figs.size() << " figures in " << out_dir << "/results.json\n";
	return 0;
}
