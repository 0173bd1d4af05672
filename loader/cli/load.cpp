// xdpctl load PROGRAM IFNAME...: one program instance per interface, attached through a pinned
// bpf_link (native by default), all interfaces or none.
#include <fmt/core.h>

#include "cli.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/registry.hpp"

namespace cli {

namespace {
struct LoadArgs {
	std::string program;
	std::string prog;
	std::vector<std::string> interfaces;
	std::string mode; // "": not given (an interface already loaded keeps its mode)
	bool dev_bound = false;
	bool replace = false;
	bool no_stats = false;
	bool list = false;
};

int list_programs(const Globals &g)
{
	nlohmann::json arr = nlohmann::json::array();
	for (const auto &p : xdpctl::registry()) {
		const char *kind = p.kind == xdpctl::ProgKind::DevmapEgress ? "devmap-egress" : (p.dev_bound ? "xdp-dev-bound" : "xdp");
		if (g.json)
			arr.push_back({{"name", p.name}, {"collection", p.collection}, {"prog", p.prog}, {"kind", kind},
				       {"summary", p.summary}});
		else
			fmt::print("{:<20} {:<14} {}\n", p.name, kind, p.summary);
	}
	if (g.json)
		print_json(arr);
	return kExitOk;
}

int run(const LoadArgs &a, const Globals &g)
{
	if (a.list)
		return list_programs(g);
	if (a.program.empty() || a.interfaces.empty())
		return usage_error(g, "load", "give a PROGRAM and at least one IFNAME; see xdpctl load --help");
	if (int rc = check_each_once(g, "load", a.interfaces))
		return rc;
	xdpctl::ProgramSource src{a.program, a.prog};
	if (!src.is_file()) {
		const auto *spec = xdpctl::find_program(a.program);
		std::string known;
		for (const auto &p : xdpctl::registry())
			known += (known.empty() ? "" : ", ") + p.name;
		if (!spec)
			return usage_error(g, "load", "unknown program '" + a.program + "'; known: " + known +
							      " (xdpctl load --list), or give an object file path");
		if (spec->kind != xdpctl::ProgKind::Xdp)
			return usage_error(g, "load", "'" + a.program + "' is a devmap egress program; use it with xdpctl redirect add --egress");
		// a name of the collection is one program already (variants have names of their own)
		if (!a.prog.empty())
			return usage_error(g, "load", "-p/--prog picks a program of an object file; '" + a.program +
							      "' names one program of the collection: drop -p (variants: xdpctl load --list)");
	}
	xdpctl::LoadRequest req{src, a.interfaces, a.mode == "skb" ? xdpctl::AttachMode::Skb : xdpctl::AttachMode::Native,
				a.dev_bound, a.replace, !a.no_stats};
	req.mode_given = !a.mode.empty();
	auto r = xdpctl::load(req);
	if (!r)
		return runtime_error(g, "load", r.error());
	nlohmann::json arr = nlohmann::json::array();
	for (const auto &at : *r) {
		const char *mode = at.mode == xdpctl::AttachMode::Skb ? "skb" : "native";
		if (g.json)
			arr.push_back({{"ifname", at.ifname}, {"ifindex", at.ifindex}, {"prog", at.prog}, {"prog_id", at.prog_id},
				       {"link_id", at.link_id}, {"mode", mode}, {"replaced", at.replaced}, {"pin", at.link_pin},
				       {"counters", at.counters}, {"already", at.already}});
		else
			fmt::print("{} {} on {} ({} mode{}): prog id {}, link id {}, pinned at {}{}\n",
				   at.already ? "already loaded" : at.replaced ? "replaced by" : "loaded", at.prog, at.ifname, mode,
				   at.counters ? "" : ", counters off", at.prog_id, at.link_id, at.link_pin,
				   a.replace && !at.replaced ? " (--replace had nothing to replace: nothing was in place)" : "");
	}
	if (g.json)
		print_json(arr);
	return kExitOk;
}
} // namespace

void register_load(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<LoadArgs>();
	auto *sub = app.add_subcommand("load", "load a program onto interfaces (one instance each, pinned bpf_link)");
	sub->add_option("program", a->program, "program of the collection (see --list) or a BPF object file path");
	sub->add_option("interfaces", a->interfaces, "interfaces to attach to (all or none)");
	sub->add_option("-m,--mode", a->mode, "attach mode: native (driver) or skb (generic); default: native, or the mode an interface xdpctl already loaded has")
		->check(CLI::IsMember({"native", "skb"}));
	sub->add_option("-p,--prog", a->prog,
			"object files: the program to attach (default: the first XDP program); refused with a name of the collection");
	sub->add_flag("--dev-bound", a->dev_bound, "load the program bound to the device (RX metadata kfuncs; native only)");
	sub->add_flag("--replace", a->replace,
		      "atomically swap the program of an interface xdpctl already loaded (bpf_link_update); an interface with "
		      "nothing in place gets a plain load, and the line says so (JSON: \"replaced\": false)");
	sub->add_flag("--no-stats", a->no_stats,
		      "keep no per-action counters: the verifier drops the counting code (xdpctl stats then says they are off)");
	sub->add_flag("-l,--list", a->list, "list the programs of the collection");
	add_common_flags(*sub, g);
	sub->footer("Example: xdpctl load xdp_pass veth0 veth1\n         xdpctl load -m skb ./my_prog.bpf.o eth0\n"
		    "         xdpctl load --replace xdp_redirect veth0");
	sub->callback([a, &g] { g.exit_code = run(*a, g); });
}

} // namespace cli
