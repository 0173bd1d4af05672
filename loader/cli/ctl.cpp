// xdpctl ctl: the control map's three use cases from the command line, as the proposal's
// examples do them (create with a control type, walk with get_next_key, lookup, update), and
// every value printed from BTF alone.
//
//   xdpctl ctl stats [IFNAME] [-j] [-i SECONDS [-c COUNT]]   XDP_STATS of every netdev, or rates
//   xdpctl ctl attr [IFNAME] [-j]                            XDP_ATTR
//   xdpctl ctl setup-redirect IFNAME [--rings N] [--ring-size M]
//   xdpctl ctl md [IFNAME] [-j]                              XDP_MD
//   xdpctl ctl setup-md IFNAME on|off
//   --backend auto|user|kernel on `ctl` picks who answers; the output says who did.
#include <net/if.h>

#include <chrono>
#include <fmt/core.h>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "cli.hpp"
#include "xdpctl/ctl_btf.hpp"
#include "xdpctl/ctlmap.hpp"
#include "xdpctl/netdev_genl.h"
#include "xdpctl/privileges.hpp"

using namespace xdpctl;
using cli::Globals;
using nlohmann::json;

namespace {

struct CtlOpts {
	std::string backend = "auto";
	std::string ifname;
	double interval = 0;
	unsigned count = 0;
	uint32_t rings = 0, ring_size = 0;
	std::string md_state;
};

// A runtime error deep in a walk: caught by the subcommand's callback (guarded), which prints
// it as every verb does (cli::runtime_error: one line, JSON with -j) and exits 1.
struct Failed {
	Error e;
};

[[noreturn]] void die(const Error &e)
{
	throw Failed{e};
}

// The subcommand's callback: fn, with its runtime error printed as the verb's one line.
template <class Fn>
std::function<void()> guarded(Globals &g, std::string verb, Fn fn)
{
	return [&g, verb = std::move(verb), fn = std::move(fn)] {
		try {
			fn();
		} catch (const Failed &f) {
			std::cout.flush();
			throw CLI::RuntimeError(cli::runtime_error(g, verb, f.e));
		}
	};
}

ctl::ControlMap open_map(uint32_t type, const CtlOpts &o)
{
	auto which = o.backend == "user" ? ctl::BackendChoice::User
		     : o.backend == "kernel" ? ctl::BackendChoice::Kernel
					     : ctl::BackendChoice::Auto;
	auto m = ctl::ControlMap::create(type, which);
	if (!m)
		die(m.error());
	return std::move(*m);
}

// XDP_STATS from either backend needs root with CAP_SYS_ADMIN. The user-space backend's per-action
// counters come from xdpctl's pins, which are root-only, and program ids turn into fds only with
// CAP_SYS_ADMIN: without them the dump would lack xdp_actions and still exit 0. The kernel
// backend's control maps are device maps (map_ifindex), which the kernel creates only for
// CAP_SYS_ADMIN. So it is refused with the line every verb gives (privileges.hpp) before a backend
// is opened or anything is printed, whichever backend would answer.
void require_stats_privileges()
{
	if (auto st = require_privileges("ctl stats", kReadCaps); !st)
		die(st.error());
}

uint32_t ifindex_of(const std::string &name)
{
	uint32_t idx = if_nametoindex(name.c_str());
	if (!idx)
		die(Error{ENOENT, "find interface", name, "no such interface in this namespace"});
	return idx;
}

std::string ifname_of(uint32_t ifindex)
{
	char buf[IF_NAMESIZE] = {};
	return if_indextoname(ifindex, buf) ? buf : "?";
}

struct Entry {
	uint32_t ifindex;
	std::string ifname;
	std::vector<std::byte> value;
};

// One interface, or every netdev walked the proposal's way: get_next_key, then lookup of that
// key, fn(entry) for each as it comes (a walk's lookups are answered from one snapshot of the
// namespace: ctlmap.hpp). A netdev that vanished between its key and its lookup is skipped; the
// next get_next_key from its key then starts over from the first ifindex (ctlmap.hpp), and the
// keys up to the last one handled are passed over: each netdev at most once, ascending.
template <class Fn>
void for_each_entry(ctl::ControlMap &m, const CtlOpts &o, Fn &&fn)
{
	if (!o.ifname.empty()) {
		uint32_t k = ifindex_of(o.ifname);
		auto v = m.lookup(k);
		if (!v)
			die(v.error());
		fn(Entry{k, ifname_of(k), std::move(*v)});
		return;
	}
	uint32_t key = 0, next = 0, last = 0; // ifindexes start at 1
	const uint32_t *cur = nullptr;
	for (;;) {
		auto st = m.get_next_key(cur, &next);
		if (!st && st.error().err == ENOENT)
			break;
		if (!st)
			die(st.error());
		key = next;
		cur = &key;
		if (key <= last)
			continue; // the walk started over: handled already
		last = key;
		auto v = m.lookup(key);
		if (!v && v.error().err == ENOENT)
			continue;
		if (!v)
			die(v.error());
		fn(Entry{key, ifname_of(key), std::move(*v)});
	}
}

uint32_t avail_of(const std::vector<std::byte> &v)
{
	uint32_t a;
	std::memcpy(&a, v.data() + 8, sizeof(a)); // every value starts ifindex, command, avail
	return a;
}

std::vector<std::string> unavailable(uint32_t type, uint32_t avail)
{
	std::vector<std::string> out;
	for (const auto &g : ctl::avail_groups(type))
		if (!(avail & g.bit))
			out.emplace_back(g.name);
	return out;
}

json value_json(const ctl::ControlMap &m, const Entry &e)
{
	auto j = ctl::btf_to_json(m.btf(), m.value_type_id(), e.value);
	if (!j)
		die(j.error());
	ctl::null_unavailable(*j, m.ctrl_type(), avail_of(e.value));
	return *j;
}

std::string flags_text(uint64_t v, const std::vector<std::pair<uint64_t, const char *>> &names)
{
	std::string s;
	for (auto &[bit, name] : names)
		if (v & bit)
			s += (s.empty() ? "" : " ") + std::string(name);
	return s.empty() ? "none" : s;
}

// Readable names for the bit sets, after the BTF dump (which prints numbers).
std::string decode(uint32_t type, const std::vector<std::byte> &v)
{
	uint32_t avail = avail_of(v);
	if (type == BPF_CTRL_XDP_ATTR && (avail & BPF_CTRL_ATTR_FEATURES)) {
		struct bpf_ctrl_xdp_attr a;
		std::memcpy(&a, v.data(), sizeof(a));
		return "  xdp-features: " +
		       flags_text(a.xdp_features, {{NETDEV_XDP_ACT_BASIC, "basic"},
						   {NETDEV_XDP_ACT_REDIRECT, "redirect"},
						   {NETDEV_XDP_ACT_NDO_XMIT, "ndo-xmit"},
						   {NETDEV_XDP_ACT_XSK_ZEROCOPY, "xsk-zerocopy"},
						   {NETDEV_XDP_ACT_HW_OFFLOAD, "hw-offload"},
						   {NETDEV_XDP_ACT_RX_SG, "rx-sg"},
						   {NETDEV_XDP_ACT_NDO_XMIT_SG, "ndo-xmit-sg"}}) +
		       "\n";
	}
	if (type == BPF_CTRL_XDP_MD && (avail & BPF_CTRL_MD_FEATURES)) {
		struct bpf_ctrl_xdp_md m;
		std::memcpy(&m, v.data(), sizeof(m));
		return "  xdp-rx-metadata-features: " +
		       flags_text(m.rx_metadata_features, {{NETDEV_XDP_RX_METADATA_TIMESTAMP, "timestamp"},
							   {NETDEV_XDP_RX_METADATA_HASH, "hash"},
							   {NETDEV_XDP_RX_METADATA_VLAN_TAG, "vlan-tag"}}) +
		       "\n";
	}
	return {};
}

std::string join(const std::vector<std::string> &v)
{
	std::string s;
	for (auto &x : v)
		s += (s.empty() ? "" : ", ") + x;
	return s;
}

// Every line of text indented by n spaces.
std::string indent(const std::string &text, size_t n)
{
	std::string out(n, ' ');
	for (char c : text) {
		out += c;
		if (c == '\n')
			out.append(n, ' ');
	}
	return out;
}

// Printed as each netdev is looked up, never held all at once: with -j the same document as
// json{backend, netdevs: [...], type}.dump(2), written piece by piece. An error in the middle of
// the walk (one line on stderr, exit 1) leaves that document unfinished, never closed as if
// complete.
void dump(uint32_t type, const CtlOpts &o, const Globals &g)
{
	if (type == BPF_CTRL_XDP_STATS)
		require_stats_privileges();
	auto m = open_map(type, o);
	if (!o.ifname.empty())
		ifindex_of(o.ifname); // an unknown name fails before anything is printed
	if (g.json) {
		std::cout << "{\n  \"backend\": " << json(m.backend_name()).dump() << ",\n  \"netdevs\": [";
		bool first = true;
		for_each_entry(m, o, [&](const Entry &e) {
			json one{{"ifindex", e.ifindex},
				 {"ifname", e.ifname},
				 {"unavailable", unavailable(type, avail_of(e.value))},
				 {"value", value_json(m, e)}};
			std::cout << (first ? "\n" : ",\n") << indent(one.dump(2), 4);
			first = false;
		});
		std::cout << (first ? "]" : "\n  ]") << ",\n  \"type\": " << json(ctl::ctrl_type_name(type)).dump()
			  << "\n}\n";
		return;
	}
	std::cout << ctl::ctrl_type_name(type) << " from the " << m.backend_name() << " backend\n";
	for_each_entry(m, o, [&](const Entry &e) {
		auto text = ctl::btf_pretty(m.btf(), m.value_type_id(), e.value);
		if (!text)
			die(text.error());
		std::cout << "\n" << e.ifname << " (ifindex " << e.ifindex << ")\n" << *text << "\n" << decode(type, e.value);
		auto na = unavailable(type, avail_of(e.value));
		if (!na.empty())
			std::cout << "  unavailable (shown as 0 above, not a value): " << join(na) << "\n";
	});
}

// Per-second rates of every counter, computed on the BTF-driven JSON: whatever numbers a value
// holds, old and new, minus the head (ifindex, command, avail, pad).
json rates(const json &before, const json &after, double secs)
{
	if (after.is_object()) {
		json out = json::object();
		for (auto &[k, v] : after.items()) {
			if (k == "ifindex" || k == "command" || k == "avail" || k == "pad" || !before.contains(k))
				continue;
			json r = rates(before[k], v, secs);
			if (!r.is_null())
				out[k] = r;
		}
		return out;
	}
	if (after.is_array()) {
		json out = json::array();
		for (size_t i = 0; i < after.size() && i < before.size(); i++)
			out.push_back(rates(before[i], after[i], secs));
		return out;
	}
	if (after.is_number() && before.is_number())
		return (after.get<double>() - before.get<double>()) / secs;
	return nullptr; // unavailable on either side
}

void flatten(const json &j, const std::string &prefix, std::vector<std::pair<std::string, double>> &out)
{
	if (j.is_object()) {
		for (auto &[k, v] : j.items())
			flatten(v, prefix.empty() ? k : prefix + "." + k, out);
	} else if (j.is_array()) {
		for (size_t i = 0; i < j.size(); i++)
			flatten(j[i], prefix + "[" + std::to_string(i) + "]", out);
	} else if (j.is_number()) {
		out.emplace_back(prefix, j.get<double>());
	}
}

void stats_rates(const CtlOpts &o, const Globals &g)
{
	require_stats_privileges();
	auto m = open_map(BPF_CTRL_XDP_STATS, o);
	if (!o.ifname.empty())
		ifindex_of(o.ifname); // an unknown name fails before anything is printed
	auto as_json = [&] {
		std::map<uint32_t, std::pair<std::string, json>> out;
		for_each_entry(m, o, [&](const Entry &e) { out[e.ifindex] = {e.ifname, value_json(m, e)}; });
		return out;
	};
	if (!g.json)
		std::cout << "XDP_STATS rates from the " << m.backend_name() << " backend, every " << o.interval << " s\n";
	auto prev = as_json();
	auto t0 = std::chrono::steady_clock::now();
	for (unsigned n = 0; !o.count || n < o.count; n++) {
		std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
		auto cur = as_json();
		auto t1 = std::chrono::steady_clock::now();
		double secs = std::chrono::duration<double>(t1 - t0).count();
		json line{{"backend", m.backend_name()}, {"interval", secs}, {"netdevs", json::array()}};
		for (auto &[idx, nv] : cur) {
			auto it = prev.find(idx);
			if (it == prev.end())
				continue;
			json r = rates(it->second.second, nv.second, secs);
			if (g.json) {
				line["netdevs"].push_back({{"ifindex", idx}, {"ifname", nv.first}, {"rates", r}});
				continue;
			}
			std::vector<std::pair<std::string, double>> flat;
			flatten(r, "", flat);
			std::cout << nv.first << ":";
			for (auto &[k, v] : flat)
				if (v != 0)
					std::cout << " " << k << " " << fmt::format("{:.1f}", v) << "/s";
			std::cout << "\n";
		}
		if (g.json)
			std::cout << line.dump() << "\n";
		std::cout.flush();
		prev = std::move(cur);
		t0 = t1;
	}
}

void setup_redirect(const CtlOpts &o, const Globals &g)
{
	auto m = open_map(BPF_CTRL_XDP_ATTR, o);
	uint32_t idx = ifindex_of(o.ifname);
	struct bpf_ctrl_xdp_attr a {};
	a.command = BPF_CTRL_SETUP_REDIRECT;
	a.rings.num = o.rings;
	a.rings.size = o.ring_size;
	if (auto st = m.update_as(idx, a); !st)
		die(st.error());
	auto after = m.lookup_as<struct bpf_ctrl_xdp_attr>(idx);
	if (!after)
		die(after.error());
	bool known = after->avail & BPF_CTRL_ATTR_REDIRECT_TARGET;
	if (g.json) {
		std::cout << json{{"backend", m.backend_name()},
				  {"ifname", o.ifname},
				  {"redirect_target_ready", known ? json(after->redirect_target_ready != 0) : json(nullptr)}}
				     .dump(2)
			  << "\n";
		return;
	}
	std::cout << "SETUP_REDIRECT " << o.ifname << " done by the " << m.backend_name() << " backend: redirect target "
		  << (!known ? "readiness unknown" : after->redirect_target_ready ? "ready" : "NOT ready") << "\n";
}

void setup_md(const CtlOpts &o, const Globals &g)
{
	auto m = open_map(BPF_CTRL_XDP_MD, o);
	uint32_t idx = ifindex_of(o.ifname);
	struct bpf_ctrl_xdp_md v {};
	v.command = BPF_CTRL_SETUP_MD;
	v.enable_md = o.md_state == "on";
	if (auto st = m.update_as(idx, v); !st)
		die(st.error());
	if (g.json)
		std::cout << json{{"backend", m.backend_name()}, {"ifname", o.ifname}, {"enable_md", v.enable_md != 0}}.dump(2)
			  << "\n";
	else
		std::cout << "SETUP_MD " << o.ifname << " " << o.md_state << " done by the " << m.backend_name()
			  << " backend\n";
}

} // namespace

void cli::register_ctl(CLI::App &app, Globals &g)
{
	auto o = std::make_shared<CtlOpts>();
	auto *ctl = app.add_subcommand("ctl", "the BPF control map: XDP statistics, attributes and metadata per netdev");
	ctl->add_option("--backend", o->backend, "who answers: auto (kernel module if loaded), user, kernel")
		->check(CLI::IsMember({"auto", "user", "kernel"}));
	ctl->require_subcommand(1);
	add_common_flags(*ctl, g);

	auto *stats = ctl->add_subcommand("stats", "XDP_STATS: link, per-action, error and queue counters");
	stats->add_option("IFNAME", o->ifname, "one interface (default: every netdev)");
	stats->add_option("-i,--interval", o->interval, "print per-second rates every SECONDS")->check(interval_seconds());
	stats->add_option("-c,--count", o->count, "with -i: stop after COUNT intervals")->check(interval_count());
	add_common_flags(*stats, g);
	stats->callback(guarded(g, "ctl stats", [o, &g] {
		if (o->interval > 0)
			stats_rates(*o, g);
		else
			dump(BPF_CTRL_XDP_STATS, *o, g);
	}));

	auto *attr = ctl->add_subcommand("attr", "XDP_ATTR: programs, xdp-features, rings, channels, redirect readiness");
	attr->add_option("IFNAME", o->ifname, "one interface (default: every netdev)");
	add_common_flags(*attr, g);
	attr->callback(guarded(g, "ctl attr", [o, &g] { dump(BPF_CTRL_XDP_ATTR, *o, g); }));

	auto *sr = ctl->add_subcommand("setup-redirect", "SETUP_REDIRECT: make IFNAME a working XDP_REDIRECT target");
	sr->add_option("IFNAME", o->ifname)->required();
	sr->add_option("--rings", o->rings, "channels (queues) wanted; 0: leave as is");
	sr->add_option("--ring-size", o->ring_size, "TX ring size wanted; 0: leave as is");
	add_common_flags(*sr, g);
	sr->callback(guarded(g, "ctl setup-redirect", [o, &g] { setup_redirect(*o, g); }));

	auto *md = ctl->add_subcommand("md", "XDP_MD: RX metadata features and whether metadata is on");
	md->add_option("IFNAME", o->ifname, "one interface (default: every netdev)");
	add_common_flags(*md, g);
	md->callback(guarded(g, "ctl md", [o, &g] { dump(BPF_CTRL_XDP_MD, *o, g); }));

	auto *smd = ctl->add_subcommand("setup-md", "SETUP_MD: attach (on) or detach (off) the metadata program");
	smd->add_option("IFNAME", o->ifname)->required();
	smd->add_option("STATE", o->md_state, "on or off")->required();
	add_common_flags(*smd, g);
	smd->callback(guarded(g, "ctl setup-md", [o, &g] {
		if (o->md_state != "on" && o->md_state != "off")
			throw CLI::RuntimeError(
				cli::usage_error(g, "ctl setup-md", "say on or off, not '" + o->md_state + "'"));
		setup_md(*o, g);
	}));
}
