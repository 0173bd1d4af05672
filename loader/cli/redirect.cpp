// xdpctl redirect add IN OUT [--egress PROG] | del IN...: redirect rules in the namespace's
// tx_port / tx_port_hash devmaps (key = ingress ifindex), validated before any write.
#include <fmt/core.h>

#include "cli.hpp"
#include "devmap_out.hpp"
#include "xdpctl/devmap.hpp"
#include "xdpctl/netdev.hpp"

namespace cli {


void register_redirect(CLI::App &app, Globals &g)
{
	auto a = std::make_shared<RedirectArgs>();
	auto *sub = app.add_subcommand("redirect", "redirect rules: frames arriving on IN leave through OUT (devmap tx_port)");
	sub->require_subcommand(1);
	add_common_flags(*sub, g);
	auto *add = sub->add_subcommand("add", "add a rule IN -> OUT, optionally through a devmap egress program");
	add->add_option("in", a->in, "ingress interface")->required();
	add->add_option("out", a->out, "egress interface")->required();
	add->add_option("--egress", a->egress, "devmap egress program run on OUT (collection name or object file)");
	add->add_option("--egress-prog", a->egress_prog, "object files: which program in it");
	add_egress_mac_option(*add, *a);
	add_ready_option(*add, *a);
	add->add_flag("--replace", a->replace, "replace the rule IN already has");
	add_common_flags(*add, g);
	add->footer("Example: xdpctl load xdp_redirect veth0 && xdpctl redirect add veth0 veth1 --egress xdp_egress");
	add->callback([a, &g] {
		if (auto m = check_egress(*a); !m.empty()) {
			g.exit_code = usage_error(g, "redirect add", m);
			return;
		}
		auto r = xdpctl::redirect_add({{a->in, a->out, egress_of(a->egress, a->egress_prog)}}, devmap_options(*a));
		g.exit_code = r ? print_writes(g, *r, "added", a->replace) : runtime_error(g, "redirect add", r.error());
	});
	auto *del = sub->add_subcommand("del", "remove the rules of ingress interfaces");
	del->add_option("in", a->del, "ingress interfaces")->required();
	add_common_flags(*del, g);
	del->callback([a, &g] {
		if ((g.exit_code = check_each_once(g, "redirect del", a->del)))
			return;
		auto r = xdpctl::redirect_del(a->del);
		g.exit_code = r ? print_writes(g, *r, "removed") : runtime_error(g, "redirect del", r.error());
	});
}

} // namespace cli
