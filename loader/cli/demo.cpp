// xdpctl demo: builds two network namespaces and five veth pairs, loads xdp_redirect,
// xdp_broadcast and the xdp_egress devmap program through libxdpctl, sends real UDP traffic,
// shows what arrived where and the programs' counters, and tears everything down (also on error
// and on Ctrl-C). Exit 0 only when every receiver saw exactly the expected frames.
#include <csignal>
#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/demo.hpp"
#include "xdpctl/privileges.hpp"

namespace cli {

namespace {

volatile std::sig_atomic_t g_demo_stop = 0;

void on_signal(int)
{
	g_demo_stop = 1;
}

std::string join(const std::vector<std::string> &v)
{
	std::string s;
	for (const auto &x : v)
		s += (s.empty() ? "" : ", ") + x;
	return s.empty() ? "-" : s;
}

void print_report(const xdpctl::demo::Report &r)
{
	if (!r.receivers.empty()) {
		fmt::print("\nWhat arrived where (source MAC as seen by the receiver; xdp_egress sets it to the egress port's)\n");
		fmt::print("  {:<6} {:<7} {:>9} {:>10}  {:<20} {:<20} {}\n", "rx", "via", "unicast", "broadcast", "source MAC",
			   "expected", "");
		for (const auto &x : r.receivers)
			fmt::print("  {:<6} {:<7} {:>9} {:>10}  {:<20} {:<20} {}\n", x.ifname, x.egress_port,
				   fmt::format("{}/{}", x.unicast_seen, x.unicast_expected),
				   fmt::format("{}/{}", x.broadcast_seen, x.broadcast_expected), join(x.src_macs_seen),
				   x.src_mac_expected, x.ok ? "ok" : "WRONG");
		const auto &a = r.receivers.front();
		fmt::print("  UDP socket on {} received {} of {} datagrams\n", a.ifname, a.udp_delivered, a.unicast_expected);
	}
	if (!r.counters.empty()) {
		fmt::print("\nPer-action counters of the programs (xdpctl stats in {})\n", r.sw_ns);
		fmt::print("  {:<6} {:<16}", "if", "program");
		for (const char *n : xdpctl::kXdpActionNames)
			fmt::print(" {:>9}", n);
		fmt::print("\n");
		for (const auto &c : r.counters) {
			fmt::print("  {:<6} {:<16}", c.ifname, c.prog);
			for (const auto &x : c.xdp)
				fmt::print(" {:>9}", x.packets);
			fmt::print("\n");
		}
	}
}

nlohmann::json report_json(const xdpctl::demo::Report &r)
{
	nlohmann::json steps = nlohmann::json::array(), rx = nlohmann::json::array(), ctr = nlohmann::json::array();
	for (const auto &s : r.steps)
		steps.push_back({{"step", s.what}, {"ok", s.ok}, {"detail", s.detail}});
	for (const auto &x : r.receivers)
		rx.push_back({{"ifname", x.ifname},
			      {"egress_port", x.egress_port},
			      {"unicast", {{"expected", x.unicast_expected}, {"seen", x.unicast_seen}}},
			      {"broadcast", {{"expected", x.broadcast_expected}, {"seen", x.broadcast_seen}}},
			      {"src_mac_expected", x.src_mac_expected},
			      {"src_macs_seen", x.src_macs_seen},
			      {"udp_delivered", x.udp_delivered},
			      {"ok", x.ok}});
	for (const auto &c : r.counters) {
		nlohmann::json a = nlohmann::json::object();
		for (size_t i = 0; i < c.xdp.size(); i++)
			a[xdpctl::kXdpActionNames[i]] = {{"packets", c.xdp[i].packets}, {"bytes", c.xdp[i].bytes}};
		ctr.push_back({{"ifname", c.ifname}, {"prog", c.prog}, {"actions", a}});
	}
	return {{"ok", r.ok()},	       {"traffic_ok", r.traffic_ok}, {"torn_down", r.torn_down},
		{"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
		{"namespaces", {r.gen_ns, r.sw_ns}}, {"steps", steps}, {"receivers", rx}, {"counters", ctr}};
}

int run(const xdpctl::demo::Options &base, const Globals &g)
{
	// namespaces, veths, programs and devmaps: what load needs, asked before the banner, so a
	// refusal is the one line every verb gives and no namespace is tried (privileges.hpp)
	if (auto st = xdpctl::require_privileges("demo", xdpctl::kLoadCaps); !st)
		return runtime_error(g, "demo", st.error());
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	xdpctl::demo::Options o = base;
	o.stop = &g_demo_stop;
	if (!g.json) {
		fmt::print("xdpctl demo: XDP redirect, broadcast and a devmap egress program between network namespaces\n\n");
		std::fflush(stdout);
		o.progress = [](const std::string &step, bool done, bool ok, const std::string &detail) {
			if (!done)
				return;
			fmt::print("  {:<5} {}{}\n", ok ? "ok" : "FAIL", step, detail.empty() ? "" : "\n        " + detail);
			std::fflush(stdout);
		};
	}
	auto r = xdpctl::demo::run(o);
	if (g.json) {
		print_json(report_json(r));
	} else {
		print_report(r);
		if (r.ok())
			fmt::print("\ndemo passed: {} datagrams redirected in0 -> out-a -> rx-a, {} broadcast to rx-a, rx-b, rx-c, "
				   "each with its egress port's MAC; everything removed\n",
				   o.unicast, o.broadcast);
	}
	if (!r.ok()) {
		fmt::print(stderr, "xdpctl demo: {}\n", r.error.empty() ? "failed" : r.error);
		return kExitRuntime;
	}
	return kExitOk;
}

} // namespace

void register_demo(CLI::App &app, Globals &g)
{
	auto o = std::make_shared<xdpctl::demo::Options>();
	auto *sub = app.add_subcommand("demo", "build namespaces and veths, run redirect, broadcast and an egress program on real traffic, tear down");
	sub->add_option("--unicast", o->unicast, "datagrams to redirect (default 100)")->check(CLI::Range(1, 10000));
	sub->add_option("--broadcast", o->broadcast, "datagrams to broadcast (default 50)")->check(CLI::Range(1, 10000));
	add_common_flags(*sub, g);
	sub->footer("Runs as root. Everything lives in namespaces xdpctl-demo-<pid>-gen and -sw and is removed at the "
		    "end, also after an error or Ctrl-C.\nExit 0 only when every receiver saw exactly the expected frames.");
	sub->callback([o, &g] { g.exit_code = run(*o, g); });
}

} // namespace cli
