// xdpctl: load XDP programs of the collection onto interfaces, wire devmaps, show what runs.
#include <bpf/libbpf.h>
#include <fmt/core.h>

#include <cstdarg>
#include <cstdio>

#include "cli.hpp"
#include "xdpctl/privileges.hpp"

namespace cli {

void add_common_flags(CLI::App &sub, Globals &g)
{
	// set while parsing, so that an error found after parsing (a bad option value, a missing
	// argument) is printed as JSON too, wherever -j stood
	sub.add_flag("-j,--json", g.json, "print JSON")->trigger_on_parse();
	sub.add_flag("-v,--verbose", g.verbose, "print libbpf's messages and the full verifier log");
}

void print_json(const nlohmann::json &j)
{
	fmt::print("{}\n", j.dump(2));
}

namespace {
// With -j an error is also one compact line on stdout, for scripts that read line by line.
void print_json_error(const Globals &g, const std::string &msg, int exit_code)
{
	if (g.json)
		fmt::print("{}\n", nlohmann::json{{"error", msg}, {"exit", exit_code}}.dump());
}

std::string one_line(const std::string &s, bool keep_all)
{
	// A verifier log tail has many lines: the one line keeps its last lines, -v prints all.
	std::vector<std::string> lines;
	size_t start = 0;
	while (start <= s.size()) {
		size_t nl = s.find('\n', start);
		std::string l = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
		if (!l.empty())
			lines.push_back(l);
		if (nl == std::string::npos)
			break;
		start = nl + 1;
	}
	size_t from = keep_all || lines.size() <= 2 ? 0 : lines.size() - 2;
	std::string out;
	for (size_t i = from; i < lines.size(); i++)
		out += (out.empty() ? "" : " | ") + lines[i];
	return out;
}
} // namespace

namespace {
// A program the verifier rejected: its reason in the one line, its whole log before it with -v.
int verifier_error(const Globals &g, const std::string &verb, xdpctl::Error shown)
{
	const xdpctl::VerifierLog &v = *shown.verifier;
	if (g.verbose) {
		fmt::print(stderr, "verifier log of program '{}':\n", v.program);
		for (const auto &l : v.lines)
			fmt::print(stderr, "{}\n", l);
		if (v.truncated)
			fmt::print(stderr, "(the log was truncated: it did not fit libbpf's largest buffer)\n");
	} else {
		shown.detail += " (-v shows the verifier log)";
	}
	std::string msg = shown.message();
	fmt::print(stderr, "xdpctl {}: {}\n", verb, msg);
	if (g.json)
		print_json({{"error", msg}, {"exit", kExitRuntime}});
	return kExitRuntime;
}
} // namespace

int runtime_error(const Globals &g, const std::string &verb, const xdpctl::Error &e)
{
	xdpctl::Error shown = e;
	if ((e.err == EPERM || e.err == EACCES) && e.detail.empty())
		if (auto p = xdpctl::require_privileges(verb, xdpctl::kLoadCaps); !p)
			shown.detail = p.error().detail;
	if (e.verifier)
		return verifier_error(g, verb, shown);
	std::string detail = one_line(shown.detail, false);
	bool cut = detail != one_line(shown.detail, true);
	shown.detail = detail + (cut && !g.verbose ? " (-v shows the verifier log)" : "");
	std::string msg = shown.message();
	if (g.verbose && cut)
		fmt::print(stderr, "{}\n", e.detail);
	fmt::print(stderr, "xdpctl {}: {}\n", verb, msg);
	print_json_error(g, msg, kExitRuntime);
	return kExitRuntime;
}

int usage_error(const Globals &g, const std::string &verb, const std::string &msg)
{
	fmt::print(stderr, "xdpctl {}: {}\n", verb, msg);
	print_json_error(g, msg, kExitUsage);
	return kExitUsage;
}

} // namespace cli

namespace {
const cli::Globals *g_globals = nullptr;
int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	// libbpf's own messages would break the one-line errors; -v shows them
	if (!g_globals || !g_globals->verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}
} // namespace

int main(int argc, char **argv)
{
	cli::Globals g;
	CLI::App app{"xdpctl: load XDP programs onto interfaces, wire devmaps, show what runs"};
	app.require_subcommand(1);
	app.footer("Exit codes: 0 ok, 1 runtime error, 2 usage error. Pins live under $XDPCTL_BPFFS "
		   "(default /sys/fs/bpf/xdpctl).");
	cli::add_common_flags(app, g);
	g_globals = &g;
	libbpf_set_print(libbpf_print);

	cli::register_load(app, g);
	cli::register_unload(app, g);
	cli::register_status(app, g);
	cli::register_redirect(app, g);
	cli::register_broadcast(app, g);
	cli::register_multicast(app, g);
	cli::register_ctl(app, g);
	cli::register_stats(app, g);
	cli::register_features(app, g);
	cli::register_demo(app, g);
	cli::register_monitor(app, g);
	cli::register_repair(app, g);

	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return app.exit(e);
	} catch (const CLI::RuntimeError &e) {
		return e.get_exit_code(); // a verb already printed its one line
	} catch (const CLI::ParseError &e) {
		std::string verb = "usage";
		for (auto *sub : app.get_subcommands())
			verb = sub->get_name();
		return cli::usage_error(g, verb, std::string(e.what()) + "; see xdpctl " +
						       (verb == "usage" ? "" : verb + " ") + "--help");
	}
	return g.exit_code;
}
