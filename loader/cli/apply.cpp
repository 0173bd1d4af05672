// xdpctl apply -f FILE, diff -f FILE, export, config schema: the namespace as a YAML file
// (docs/apply.md), thin on libxdpctl's config.hpp.
#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/config.hpp"

namespace cli {

namespace {

struct FileArgs {
	std::string file;
};

// A file that cannot be read or is not a valid one: the usage error "FILE:LINE:COLUMN: what".
int config_error(const Globals &g, const std::string &verb, const xdpctl::Error &e)
{
	bool located = e.op.find(':') != std::string::npos;
	return usage_error(g, verb, located ? e.op + ": " + e.detail : e.message());
}

void print_steps(const Globals &g, const std::vector<xdpctl::Step> &steps, const char *key)
{
	if (g.json) {
		nlohmann::ordered_json j;
		j[key] = !steps.empty();
		j["steps"] = nlohmann::ordered_json::array();
		for (const auto &s : steps)
			j["steps"].push_back(xdpctl::step_json(s));
		fmt::print("{}\n", j.dump(2));
		return;
	}
	for (const auto &s : steps)
		fmt::print("{}\n", s.line());
	if (steps.empty())
		fmt::print("no changes\n");
}

int run_apply(const FileArgs &a, const Globals &g)
{
	auto c = xdpctl::read_config(a.file);
	if (!c)
		return config_error(g, "apply", c.error());
	auto r = xdpctl::apply_config(*c);
	if (!r)
		return runtime_error(g, "apply", r.error());
	print_steps(g, *r, "changed");
	return kExitOk;
}

// Like diff(1): 0 nothing differs, 1 something does, 2 trouble (printed as a usage error).
int run_diff(const FileArgs &a, const Globals &g)
{
	auto c = xdpctl::read_config(a.file);
	if (!c)
		return config_error(g, "diff", c.error());
	auto want = xdpctl::resolve(*c);
	if (!want)
		return usage_error(g, "diff", want.error().message());
	auto have = xdpctl::observe();
	if (!have)
		return usage_error(g, "diff", have.error().message());
	auto steps = xdpctl::diff(*want, *have);
	print_steps(g, steps, "differs");
	return steps.empty() ? kExitOk : kExitRuntime;
}

int run_export(const Globals &g)
{
	auto have = xdpctl::observe();
	if (!have)
		return runtime_error(g, "export", have.error());
	auto c = xdpctl::to_config(*have);
	if (g.json) {
		fmt::print("{}", xdpctl::config_json(c));
		return kExitOk;
	}
	fmt::print("# xdpctl export: this network namespace as `xdpctl apply -f FILE` makes it (docs/apply.md)\n");
	for (const auto &n : have->unnamed)
		fmt::print("# left out: {} runs a program xdpctl loaded but cannot name (reload it with xdpctl load)\n", n);
	for (const auto &n : have->unnamed_egress)
		fmt::print("# left out: {} runs an egress program xdpctl cannot name (add it again with its egress program)\n", n);
	fmt::print("{}", xdpctl::config_yaml(c));
	return kExitOk;
}

void add_file_option(CLI::App &sub, FileArgs &a)
{
	sub.add_option("-f,--file", a.file, "the YAML file describing this namespace (- reads standard input)")->required();
}

} // namespace

void register_apply(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<FileArgs>();
	auto *ap = app.add_subcommand("apply", "make this namespace what a YAML file describes (all of it, or nothing)");
	add_file_option(*ap, *a);
	add_common_flags(*ap, g);
	ap->footer("The file is the whole desired state: what it does not name is removed. An unchanged program keeps "
		   "its link and counters; a changed one is swapped in place (bpf_link_update). A run with nothing to "
		   "do prints \"no changes\". Bad files: one line FILE:LINE:COLUMN, exit 2, nothing changed.\n"
		   "Example: xdpctl apply -f /etc/xdpctl/ns.yaml\n         xdpctl export | xdpctl apply -f -");
	ap->callback([a, &g] { g.exit_code = run_apply(*a, g); });

	auto *df = app.add_subcommand("diff", "what apply -f FILE would change, one +/-/~ line per step");
	add_file_option(*df, *a);
	add_common_flags(*df, g);
	df->footer("Exit status as diff(1): 0 nothing differs, 1 something does, 2 trouble (a bad file, an interface "
		   "that is not here).\nExample: xdpctl diff -f ns.yaml -j");
	df->callback([a, &g] { g.exit_code = run_diff(*a, g); });

	auto *ex = app.add_subcommand("export", "print this namespace's state as a file for apply (YAML; -j: JSON)");
	add_common_flags(*ex, g);
	ex->footer("Example: xdpctl export > ns.yaml");
	ex->callback([&g] { g.exit_code = run_export(g); });

	auto *cf = app.add_subcommand("config", "the file apply reads");
	cf->require_subcommand(1);
	add_common_flags(*cf, g);
	auto *sc = cf->add_subcommand("schema", "print the file's JSON Schema (draft 2020-12)");
	add_common_flags(*sc, g);
	sc->callback([&g] {
		fmt::print("{}", xdpctl::config_schema());
		g.exit_code = kExitOk;
	});
	cf->footer("Example: xdpctl config schema > xdpctl.schema.json");
}

} // namespace cli
