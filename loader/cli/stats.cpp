// xdpctl stats [IFNAME...] [-i SECONDS] [-c COUNT] [-e] [-j]: live per-interface, per-action
// rates of the programs xdpctl attached, every interval, like xdp-bench; a summary (totals and
// average rates over the run) when it ends: after COUNT intervals, or on SIGINT/SIGTERM. A
// program whose object has no xdpctl_stats map has no per-action counters: its rows are the
// kernel's run count and run time instead (bpf_prog_info; counted while sysctl
// kernel.bpf_stats_enabled=1).
// -j: one JSON object per line per interval ("type":"interval"), then one "type":"summary".
#include <csignal>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

#include "cli.hpp"
#include "xdpctl/live_stats.hpp"
#include "xdpctl/stats.h"

namespace cli {

namespace {

struct StatsArgs {
	std::vector<std::string> interfaces;
	double interval = 1.0;
	unsigned count = 0;
	bool extended = false;
};

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int)
{
	g_stop = 1;
}

// Sleeps until `until` unless a signal asks to stop first; false when stopped.
bool sleep_until(std::chrono::steady_clock::time_point until)
{
	while (!g_stop) {
		auto now = std::chrono::steady_clock::now();
		if (now >= until)
			return true;
		std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
	}
	return false;
}

double secs(std::chrono::steady_clock::duration d)
{
	return std::chrono::duration<double>(d).count();
}

uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : 0; // a counter never goes back unless its map was replaced
}

nlohmann::json actions_json(const xdpctl::IfCounters &now, const xdpctl::IfCounters &before, double dt)
{
	nlohmann::json a = nlohmann::json::object();
	for (size_t i = 0; i < now.xdp.size(); i++) {
		uint64_t p = delta(now.xdp[i].packets, before.xdp[i].packets);
		uint64_t b = delta(now.xdp[i].bytes, before.xdp[i].bytes);
		a[xdpctl::kXdpActionNames[i]] = {{"packets", p}, {"bytes", b}, {"pps", p / dt}, {"Bps", b / dt}};
	}
	return a;
}

constexpr const char *kNeedsSysctl = "run count needs sysctl kernel.bpf_stats_enabled=1";

// The kernel's run count of a program without xdpctl counters, between two samples: what
// "actions" is for one with them. "ns_per_run" is null when it did not run.
nlohmann::json runs_json(const xdpctl::RunCounters &now, const xdpctl::RunCounters &before, double dt)
{
	uint64_t c = delta(now.count, before.count), t = delta(now.time_ns, before.time_ns);
	return nlohmann::json{{"count", c},
			      {"time_ns", t},
			      {"per_s", c / dt},
			      {"ns_per_run", c ? nlohmann::json(t / c) : nlohmann::json(nullptr)}};
}

// An interface's members between two samples: "actions" (null for a program without xdpctl
// counters) or, for such a program, "runs" and "bpf_stats_enabled" (false: the kernel counts no
// runs, run count needs sysctl kernel.bpf_stats_enabled=1).
nlohmann::json counted_json(const xdpctl::IfCounters &now, const xdpctl::IfCounters &before, double dt)
{
	if (!now.run)
		return nlohmann::json{{"actions", actions_json(now, before, dt)}};
	const auto &b = before.run ? *before.run : *now.run;
	return nlohmann::json{{"actions", nullptr}, {"runs", runs_json(*now.run, b, dt)}, {"bpf_stats_enabled", now.run->enabled}};
}

// The average time of one run ("85 ns per run"), empty when it did not run.
std::string per_run(uint64_t runs, uint64_t ns)
{
	return runs ? fmt::format("{} ns per run", ns / runs) : "";
}

nlohmann::json extended_json(const xdpctl::IfCounters &now, const xdpctl::IfCounters &before, double dt)
{
	nlohmann::json e = nlohmann::json::object();
	if (now.link && before.link) {
		const auto &n = *now.link, &b = *before.link;
		e["link"] = {{"rx_pps", delta(n.rx_packets, b.rx_packets) / dt}, {"rx_Bps", delta(n.rx_bytes, b.rx_bytes) / dt},
			     {"rx_dropped", delta(n.rx_dropped, b.rx_dropped)},	   {"tx_pps", delta(n.tx_packets, b.tx_packets) / dt},
			     {"tx_Bps", delta(n.tx_bytes, b.tx_bytes) / dt},	   {"tx_dropped", delta(n.tx_dropped, b.tx_dropped)}};
	} else {
		e["link"] = nullptr;
	}
	if (now.monitor && before.monitor) {
		const auto &n = *now.monitor, &b = *before.monitor;
		e["monitor"] = {{"exceptions", delta(n.exceptions, b.exceptions)},
				{"redirect_errors", delta(n.redirect_errors, b.redirect_errors)},
				{"devmap_xmit_sent", delta(n.devmap_xmit_sent, b.devmap_xmit_sent)},
				{"devmap_xmit_drops", delta(n.devmap_xmit_drops, b.devmap_xmit_drops)}};
	} else {
		e["monitor"] = nullptr; // the tracepoint monitor is not running in this namespace
	}
	return e;
}

// The action columns when some interface has per-action counters; a program without them has
// one row, its runs per second.
void print_header(bool actions)
{
	fmt::print("{:>7}  {:<16} {:<6}", "time", "interface", "rate");
	if (actions)
		for (const char *a : xdpctl::kXdpActionNames)
			fmt::print(" {:>9}", a);
	else
		fmt::print(" {:>9}", "runs");
	fmt::print("\n");
}

void print_interval(double t, const xdpctl::StatsSample &now, const xdpctl::StatsSample &before, double dt, bool extended)
{
	for (size_t i = 0; i < now.interfaces.size(); i++) {
		const auto &n = now.interfaces[i], &b = before.interfaces[i];
		if (n.run) {
			const auto &r = *n.run, &rb = b.run ? *b.run : r;
			uint64_t runs = delta(r.count, rb.count);
			std::string note = per_run(runs, delta(r.time_ns, rb.time_ns));
			if (!r.enabled)
				note += (note.empty() ? "" : "; ") + std::string(kNeedsSysctl);
			fmt::print("{:>6.1f}s  {:<16} {:<6} {:>9}{}\n", t, n.ifname, "run/s", xdpctl::si(runs / dt),
				   note.empty() ? "" : "  " + note);
		}
		std::string pps, bps;
		for (size_t a = 0; a < n.xdp.size(); a++) {
			pps += fmt::format(" {:>9}", xdpctl::si(delta(n.xdp[a].packets, b.xdp[a].packets) / dt));
			bps += fmt::format(" {:>9}", xdpctl::si(delta(n.xdp[a].bytes, b.xdp[a].bytes) / dt));
		}
		if (!n.run) {
			fmt::print("{:>6.1f}s  {:<16} {:<6}{}\n", t, n.ifname, "pkt/s", pps);
			fmt::print("{:>7}  {:<16} {:<6}{}\n", "", "", "B/s", bps);
		}
		if (!extended)
			continue;
		if (n.link && b.link)
			fmt::print("{:>7}  {:<16} link   rx {} pkt/s {} B/s, {} dropped; tx {} pkt/s {} B/s, {} dropped\n", "", "",
				   xdpctl::si(delta(n.link->rx_packets, b.link->rx_packets) / dt),
				   xdpctl::si(delta(n.link->rx_bytes, b.link->rx_bytes) / dt), delta(n.link->rx_dropped, b.link->rx_dropped),
				   xdpctl::si(delta(n.link->tx_packets, b.link->tx_packets) / dt),
				   xdpctl::si(delta(n.link->tx_bytes, b.link->tx_bytes) / dt), delta(n.link->tx_dropped, b.link->tx_dropped));
		if (n.monitor && b.monitor)
			fmt::print("{:>7}  {:<16} errors exceptions {}, redirect errors {}, devmap xmit {} sent {} dropped\n", "", "",
				   delta(n.monitor->exceptions, b.monitor->exceptions),
				   delta(n.monitor->redirect_errors, b.monitor->redirect_errors),
				   delta(n.monitor->devmap_xmit_sent, b.monitor->devmap_xmit_sent),
				   delta(n.monitor->devmap_xmit_drops, b.monitor->devmap_xmit_drops));
		else
			fmt::print("{:>7}  {:<16} errors unavailable: the tracepoint monitor is not running\n", "", "");
	}
}

// One JSON line written piece by piece: `head` (an object's members before "interfaces", may be
// empty), then one object per interface from each(i), then `tail` (the members after it). The
// same text as building the whole line with nlohmann::json and dump(), whose members come in
// name order, without holding 1,000 interfaces' objects at once.
void print_json_line(const std::string &head, size_t n, const std::function<nlohmann::json(size_t)> &each,
		     const std::string &tail)
{
	std::string out = "{" + head + "\"interfaces\":[";
	for (size_t i = 0; i < n; i++) {
		out += i ? "," : "";
		out += each(i).dump();
		if (out.size() >= 64 * 1024) {
			std::fwrite(out.data(), 1, out.size(), stdout);
			out.clear();
		}
	}
	out += "]," + tail + "}\n";
	std::fwrite(out.data(), 1, out.size(), stdout);
}

std::string member(const char *name, const nlohmann::json &v)
{
	return "\"" + std::string(name) + "\":" + v.dump();
}

void print_summary(const xdpctl::StatsSample &last, const xdpctl::StatsSample &first, unsigned intervals, const Globals &g)
{
	double dt = secs(last.at - first.at);
	if (g.json) {
		print_json_line(
			member("duration", dt) + ",", last.interfaces.size(),
			[&](size_t i) {
				const auto &n = last.interfaces[i];
				nlohmann::json e{{"ifname", n.ifname}, {"ifindex", n.ifindex}, {"prog", n.prog}};
				e.update(counted_json(n, first.interfaces[i], dt > 0 ? dt : 1));
				if (n.run) {
					// the absolute counts, as "counters" holds them for a program with xdpctl counters
					e["counters"] = nullptr;
					e["run_count"] = n.run->count;
					e["run_time_ns"] = n.run->time_ns;
					return e;
				}
				nlohmann::json counters = nlohmann::json::object();
				for (size_t a = 0; a < n.xdp.size(); a++)
					counters[xdpctl::kXdpActionNames[a]] = {{"packets", n.xdp[a].packets},
										{"bytes", n.xdp[a].bytes}};
				e["counters"] = counters;
				return e;
			},
			member("intervals", intervals) + "," + member("type", "summary"));
		return;
	}
	fmt::print("\nSummary: {} interval{} in {:.1f} s\n", intervals, intervals == 1 ? "" : "s", dt);
	if (std::any_of(last.interfaces.begin(), last.interfaces.end(), [](const auto &n) { return !n.run; }))
		fmt::print("  {:<16} {:<20} {:<9} {:>10} {:>12} {:>10} {:>10}\n", "interface", "program", "action", "packets",
			   "bytes", "avg pkt/s", "avg B/s");
	for (size_t i = 0; i < last.interfaces.size(); i++) {
		const auto &n = last.interfaces[i], &f = first.interfaces[i];
		if (n.run) {
			const auto &r = *n.run, &rf = f.run ? *f.run : r;
			uint64_t runs = delta(r.count, rf.count);
			std::string each = per_run(runs, delta(r.time_ns, rf.time_ns));
			fmt::print("  {:<16} {:<20} {} runs, avg {} run/s{}; since loaded: {} runs, {} ns{}\n", n.ifname, n.prog, runs,
				   xdpctl::si(dt > 0 ? runs / dt : 0), each.empty() ? "" : ", " + each, r.count, r.time_ns,
				   r.enabled ? "" : std::string("; ") + kNeedsSysctl);
			continue;
		}
		bool any = false;
		for (size_t a = 0; a < n.xdp.size(); a++) {
			uint64_t p = delta(n.xdp[a].packets, f.xdp[a].packets), b = delta(n.xdp[a].bytes, f.xdp[a].bytes);
			if (!p)
				continue;
			fmt::print("  {:<16} {:<20} {:<9} {:>10} {:>12} {:>10} {:>10}\n", any ? "" : n.ifname, any ? "" : n.prog,
				   xdpctl::kXdpActionNames[a], p, b, xdpctl::si(dt > 0 ? p / dt : 0), xdpctl::si(dt > 0 ? b / dt : 0));
			any = true;
		}
		if (!any)
			fmt::print("  {:<16} {:<20} no packets\n", n.ifname, n.prog);
	}
}

int run(const StatsArgs &a, const Globals &g)
{
	if (int rc = check_each_once(g, "stats", a.interfaces))
		return rc;
	auto reader = xdpctl::StatsReader::open(a.interfaces);
	if (!reader)
		return runtime_error(g, "stats", reader.error());
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);

	auto first = reader->sample();
	if (!first)
		return runtime_error(g, "stats", first.error());
	if (!g.json) {
		std::string names, runs;
		for (const auto &w : reader->interfaces()) {
			std::string &list = w.counted ? names : runs;
			list += (list.empty() ? "" : ", ") + w.ifname + " (" + w.prog + ")";
		}
		std::string what = names.empty() ? "" : "Per-action rates of " + names;
		if (!runs.empty())
			what += (what.empty() ? "Runs of " : ", runs of ") + runs + " as the kernel counts them";
		fmt::print("{} every {} s{}; Ctrl-C ends with a summary\n", what, a.interval,
			   a.count ? fmt::format(", {} times", a.count) : "");
		std::string off;
		for (const auto &n : reader->counters_off())
			off += (off.empty() ? "" : ", ") + n;
		if (!off.empty())
			fmt::print("Counters off (loaded with --no-stats): {}\n", off);
		if (!runs.empty())
			fmt::print("No xdpctl counters (no " XDPCTL_STATS_MAP " map in the object): {}\n", runs);
		fmt::print("\n");
		print_header(!names.empty());
	}
	std::fflush(stdout);
	auto prev = *first;
	auto next = first->at;
	unsigned n = 0;
	while (!a.count || n < a.count) {
		next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(a.interval));
		if (!sleep_until(next))
			break;
		auto cur = reader->sample();
		if (!cur) {
			print_summary(prev, *first, n, g);
			return runtime_error(g, "stats", cur.error());
		}
		n++;
		double dt = secs(cur->at - prev.at);
		if (g.json) {
			print_json_line(
				"", cur->interfaces.size(),
				[&](size_t i) {
					const auto &c = cur->interfaces[i];
					nlohmann::json e{{"ifname", c.ifname}, {"ifindex", c.ifindex}, {"prog", c.prog}};
					e.update(counted_json(c, prev.interfaces[i], dt));
					if (a.extended)
						e.update(extended_json(c, prev.interfaces[i], dt));
					return e;
				},
				member("interval", dt) + "," + member("time", secs(cur->at - first->at)) + "," +
					member("type", "interval"));
		} else {
			print_interval(secs(cur->at - first->at), *cur, prev, dt, a.extended);
		}
		std::fflush(stdout);
		prev = std::move(*cur);
	}
	print_summary(prev, *first, n, g);
	return kExitOk;
}

} // namespace

CLI::Validator interval_seconds()
{
	return CLI::Validator(
		[](std::string &s) {
			char *end = nullptr;
			double v = std::strtod(s.c_str(), &end);
			return !s.empty() && *end == '\0' && v >= 0.01 && v <= 86400
				       ? std::string()
				       : "'" + s + "' is not an interval: give seconds, 0.01 to 86400";
		},
		"SECONDS");
}

CLI::Validator interval_count()
{
	return CLI::Validator(
		[](std::string &s) {
			char *end = nullptr;
			unsigned long v = std::strtoul(s.c_str(), &end, 10);
			return !s.empty() && s[0] != '-' && *end == '\0' && v >= 1 && v <= 1000000000
				       ? std::string()
				       : "'" + s + "' is not a count: give 1 or more";
		},
		"COUNT");
}

void register_stats(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<StatsArgs>();
	auto *sub = app.add_subcommand("stats", "live per-interface, per-action XDP rates of xdpctl's programs, like xdp-bench "
						"(the kernel's run count for a program without xdpctl counters)");
	sub->add_option("IFNAME", a->interfaces, "interfaces (default: every interface xdpctl has a program on)");
	sub->add_option("-i,--interval", a->interval, "seconds between two readings (default 1)")->check(interval_seconds());
	sub->add_option("-c,--count", a->count, "stop after COUNT intervals (default: until Ctrl-C)")->check(interval_count());
	sub->add_flag("-e,--extended", a->extended, "also the netdev's rx/tx counters and the tracepoint monitor's error counts");
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl stats veth0 -i 2 -c 5\n         xdpctl stats -j -e   (JSON lines: one per interval, then a summary)\n"
		    "A program whose object has no " XDPCTL_STATS_MAP " map (an object file of your own) keeps no per-action\n"
		    "counters: its row is its runs per second and time per run as the kernel counts them\n"
		    "(bpf_prog_info run_cnt, run_time_ns; JSON \"runs\", \"run_count\", \"run_time_ns\"), which\n"
		    "it does only while sysctl kernel.bpf_stats_enabled=1 (sysctl -w kernel.bpf_stats_enabled=1).");
	sub->callback([a, &g] { g.exit_code = run(*a, g); });
}

} // namespace cli
