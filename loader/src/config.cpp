// xdpctl apply/diff/export: the file (parse_config, config_schema, config_yaml), the namespace
// as apply sees it (resolve, observe) and the steps between them (diff, apply). See config.hpp.
#include "xdpctl/config.hpp"

#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "loader_internal.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/monitor.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/privileges.hpp"
#include "xdpctl/state.hpp"
#include "xdpctl/status.hpp"

namespace xdpctl {

namespace {

using json = nlohmann::ordered_json;

// ---- The file's rules, once as JSON Schema and once as the parser below checks them ----------

const char *const kTopKeys[] = {"version", "interfaces", "redirect", "broadcast", "multicast", "monitor"};
const char *const kInterfaceKeys[] = {"name", "match", "program", "prog", "mode", "counters", "dev_bound"};
const char *const kRuleKeys[] = {"in", "out", "egress"};
const char *const kEgressKeys[] = {"program", "prog", "src_mac"};
const char *const kPortsKeys[] = {"ports", "match", "egress"};
const char *const kGroupKeys[] = {"group", "ports", "match", "egress"};
const char *const kMulticastKeys[] = {"groups", "macs"};
const char *const kMacKeys[] = {"mac", "group"};

constexpr size_t kIfNameMax = 15; // IFNAMSIZ - 1
const char *const kMacPattern = "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$";

json schema_json()
{
	json str = {{"type", "string"}, {"minLength", 1}};
	json ifname = {{"type", "string"},
		       {"minLength", 1},
		       {"maxLength", kIfNameMax},
		       {"pattern", "^[^/:*?\\[\\s]+$"},
		       {"description", "an interface of the namespace, by its exact name"}};
	json pattern = {{"type", "string"},
			{"minLength", 1},
			{"description", "an fnmatch(3) pattern over the namespace's interface names (veth*, eth[0-3])"}};
	json program = {{"type", "string"},
			{"minLength", 1},
			{"description", "a program of the collection (xdpctl load --list) or a BPF object file path "
					"(contains '/' or ends in .o; relative to the file's directory)"}};
	json prog = {{"type", "string"}, {"minLength", 1}, {"description", "object files only: which program in it"}};
	json group_no = {{"type", "integer"}, {"minimum", 0}, {"maximum", kMulticastGroups - 1}};
	json egress = {{"type", "object"},
		       {"additionalProperties", false},
		       {"required", json::array({"program"})},
		       {"description", "a devmap egress program (SEC(\"xdp/devmap\")) run on each egress port"},
		       {"properties",
			{{"program", program},
			 {"prog", prog},
			 {"src_mac", {{"type", "boolean"}, {"default", false},
				      {"description", "each port's instance writes that port's MAC as the source (xdp_egress)"}}}}}};
	json ports_props = {{"ports", {{"type", "array"}, {"items", {{"$ref", "#/$defs/ifname"}}}}},
			    {"match", {{"$ref", "#/$defs/pattern"}}},
			    {"egress", {{"$ref", "#/$defs/egress"}}}};
	json group_props = {{"group", {{"$ref", "#/$defs/group"}}}};
	for (auto &[k, v] : ports_props.items())
		group_props[k] = v;
	json ports_or_match = json::array({{{"required", json::array({"ports"})}}, {{"required", json::array({"match"})}}});
	return {
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", "urn:xdpctl:apply:1"},
		{"title", "xdpctl apply file"},
		{"description",
		 "The whole desired state of one network namespace for xdpctl apply -f FILE: what is not in the file "
		 "is removed. Beyond this schema, xdpctl refuses an interface, a rule's ingress, a port of one group "
		 "or a MAC given twice (docs/apply.md)."},
		{"type", "object"},
		{"additionalProperties", false},
		{"properties",
		 {{"version", {{"const", 1}, {"description", "the file format's version"}}},
		  {"interfaces",
		   {{"type", "array"},
		    {"description", "programs on interfaces; an interface named takes its own entry, else the first "
				    "matching pattern"},
		    {"items",
		     {{"type", "object"},
		      {"additionalProperties", false},
		      {"required", json::array({"program"})},
		      {"oneOf", json::array({{{"required", json::array({"name"})}}, {{"required", json::array({"match"})}}})},
		      {"properties",
		       {{"name", {{"$ref", "#/$defs/ifname"}}},
			{"match", {{"$ref", "#/$defs/pattern"}}},
			{"program", program},
			{"prog", prog},
			{"mode", {{"enum", json::array({"native", "skb"})}, {"default", "native"}}},
			{"counters", {{"type", "boolean"}, {"default", true},
				      {"description", "false: the instance keeps no per-action counters (load --no-stats)"}}},
			{"dev_bound", {{"type", "boolean"}, {"default", false},
				       {"description", "load bound to the device (RX metadata kfuncs; native only)"}}}}}}}}},
		  {"redirect",
		   {{"type", "array"},
		    {"description", "frames arriving on in leave through out (devmaps tx_port, tx_port_hash)"},
		    {"items",
		     {{"type", "object"},
		      {"additionalProperties", false},
		      {"required", json::array({"in", "out"})},
		      {"properties",
		       {{"in", {{"$ref", "#/$defs/ifname"}}},
			{"out", {{"$ref", "#/$defs/ifname"}}},
			{"egress", {{"$ref", "#/$defs/egress"}}}}}}}}},
		  {"broadcast",
		   {{"type", "array"},
		    {"description", "ports of the broadcast group (xdp_broadcast), one entry per egress program"},
		    {"items",
		     {{"type", "object"},
		      {"additionalProperties", false},
		      {"anyOf", ports_or_match},
		      {"properties", ports_props}}}}},
		  {"multicast",
		   {{"type", "object"},
		    {"additionalProperties", false},
		    {"description", "groups of xdp_multicast and the destination MAC -> group table"},
		    {"properties",
		     {{"groups",
		       {{"type", "array"},
			{"items",
			 {{"type", "object"},
			  {"additionalProperties", false},
			  {"required", json::array({"group"})},
			  {"anyOf", ports_or_match},
			  {"properties", group_props}}}}},
		      {"macs",
		       {{"type", "array"},
			{"items",
			 {{"type", "object"},
			  {"additionalProperties", false},
			  {"required", json::array({"mac", "group"})},
			  {"properties",
			   {{"mac", {{"type", "string"}, {"pattern", kMacPattern}}},
			    {"group", {{"$ref", "#/$defs/group"}}}}}}}}}}}}},
		  {"monitor", {{"type", "boolean"}, {"default", false},
			       {"description", "the tracepoint monitor runs (xdpctl monitor start)"}}}}},
		{"$defs", {{"ifname", ifname}, {"pattern", pattern}, {"egress", egress}, {"group", group_no}}},
	};
}

// ---- Parsing --------------------------------------------------------------------------------

struct Bad {
	Error e;
};

template <size_t N>
std::string known(const char *const (&keys)[N])
{
	std::string s;
	for (const char *k : keys)
		s += (s.empty() ? "" : ", ") + std::string(k);
	return s;
}

bool has_glob(const std::string &s)
{
	return s.find_first_of("*?[") != std::string::npos;
}

// What a plain (unquoted) scalar is in YAML's core schema, so that a string field refuses what a
// YAML-to-JSON reader would give it as a boolean, null or number (the schema's types).
const char *plain_kind(const std::string &s)
{
	static const std::regex kBool("true|True|TRUE|false|False|FALSE");
	static const std::regex kNull("null|Null|NULL|~|");
	static const std::regex kNum("[-+]?([0-9]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]*\\.[0-9]+([eE][-+]?[0-9]+)?)");
	if (std::regex_match(s, kBool))
		return "a boolean";
	if (std::regex_match(s, kNull))
		return "null";
	if (std::regex_match(s, kNum))
		return "a number";
	return nullptr;
}

class Parser {
public:
	Parser(std::string file, std::filesystem::path base) : file_(std::move(file)), base_(std::move(base)) {}

	Config run(const std::string &text)
	{
		Config c;
		c.file = file_;
		std::vector<YAML::Node> docs;
		try {
			docs = YAML::LoadAll(text);
		} catch (const YAML::Exception &e) {
			throw Bad{Error{EINVAL, where(e.mark), "", one_line(e.msg)}};
		}
		if (docs.size() > 1)
			bad(docs[1], "one document per file: this one describes the whole namespace");
		if (docs.empty() || docs[0].IsNull())
			return c; // an empty file: nothing in the namespace
		const YAML::Node &top = docs[0];
		auto f = fields(top, "the file", kTopKeys);
		if (auto v = get(f, "version"))
			(void)integer(*v, "version", 1, 1);
		if (auto v = get(f, "interfaces"))
			for (const auto &n : seq(*v, "interfaces"))
				c.interfaces.push_back(interface(n, c));
		if (auto v = get(f, "redirect"))
			for (const auto &n : seq(*v, "redirect"))
				c.redirects.push_back(rule(n, c));
		if (auto v = get(f, "broadcast")) {
			std::set<std::string> seen;
			for (const auto &n : seq(*v, "broadcast"))
				c.broadcast.push_back(ports(n, false, seen, "the broadcast group"));
		}
		if (auto v = get(f, "multicast")) {
			auto m = fields(*v, "multicast", kMulticastKeys);
			std::map<uint32_t, std::set<std::string>> seen;
			if (auto g = get(m, "groups"))
				for (const auto &n : seq(*g, "groups")) {
					uint32_t no = group_of(n);
					c.multicast.push_back(ports(n, true, seen[no], "multicast group " + std::to_string(no)));
				}
			if (auto g = get(m, "macs"))
				for (const auto &n : seq(*g, "macs"))
					c.macs.push_back(mac(n, c));
		}
		if (auto v = get(f, "monitor"))
			c.monitor = boolean(*v, "monitor");
		return c;
	}

private:
	static std::string one_line(std::string s)
	{
		std::replace(s.begin(), s.end(), '\n', ' ');
		return s;
	}
	std::string where(const YAML::Mark &m) const
	{
		return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
	}
	static ConfigMark mark(const YAML::Node &n) { return {n.Mark().line + 1, n.Mark().column + 1}; }
	[[noreturn]] void bad(const YAML::Node &n, const std::string &msg) const
	{
		throw Bad{Error{EINVAL, where(n.Mark()), "", msg}};
	}
	static std::string kind(const YAML::Node &n)
	{
		if (n.IsMap())
			return "a mapping";
		if (n.IsSequence())
			return "a list";
		if (n.IsScalar())
			return "'" + n.Scalar() + "'";
		return "nothing";
	}

	using Fields = std::vector<std::pair<std::string, YAML::Node>>;
	static std::optional<YAML::Node> get(const Fields &f, const std::string &key)
	{
		for (const auto &[k, v] : f)
			if (k == key)
				return v;
		return std::nullopt;
	}

	// A mapping with only the given keys, each once, in file order, each with a value.
	template <size_t N>
	Fields fields(const YAML::Node &n, const std::string &what, const char *const (&keys)[N]) const
	{
		if (!n.IsMap())
			bad(n, what + " must be a mapping (" + known(keys) + "), not " + kind(n));
		Fields out;
		for (auto it = n.begin(); it != n.end(); ++it) {
			const YAML::Node &k = it->first;
			if (!k.IsScalar())
				bad(k, "a key of " + what + " must be a word, not " + kind(k));
			const std::string &key = k.Scalar();
			if (std::none_of(std::begin(keys), std::end(keys), [&](const char *x) { return key == x; }))
				bad(k, "unknown key '" + key + "' in " + what + " (known: " + known(keys) + ")");
			if (get(out, key))
				bad(k, "key '" + key + "' given twice in " + what);
			YAML::Node v = it->second;
			if (v.IsNull()) // it has no mark of its own: point at the key
				bad(k, "'" + key + "' has no value");
			out.emplace_back(key, v);
		}
		return out;
	}
	std::vector<YAML::Node> seq(const YAML::Node &n, const std::string &key) const
	{
		if (!n.IsSequence())
			bad(n, "'" + key + "' must be a list, not " + kind(n));
		return {n.begin(), n.end()};
	}
	std::string str(const YAML::Node &n, const std::string &key) const
	{
		if (!n.IsScalar())
			bad(n, "'" + key + "' must be a string, not " + kind(n));
		if (n.Tag() == "?")
			if (const char *k = plain_kind(n.Scalar()))
				bad(n, "'" + key + "' must be a string, not " + k + " (quote it: \"" + n.Scalar() + "\")");
		if (n.Scalar().empty())
			bad(n, "'" + key + "' is empty");
		return n.Scalar();
	}
	bool boolean(const YAML::Node &n, const std::string &key) const
	{
		if (n.IsScalar() && n.Tag() == "?") {
			const std::string &s = n.Scalar();
			if (s == "true" || s == "True" || s == "TRUE")
				return true;
			if (s == "false" || s == "False" || s == "FALSE")
				return false;
		}
		bad(n, "'" + key + "' must be true or false, not " + kind(n));
	}
	uint32_t integer(const YAML::Node &n, const std::string &key, uint32_t lo, uint32_t hi) const
	{
		const std::string s = n.IsScalar() ? n.Scalar() : "";
		if (!n.IsScalar() || n.Tag() != "?" || s.empty() || s.size() > 9 ||
		    !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
			bad(n, "'" + key + "' must be an integer " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
				       ", not " + kind(n));
		uint32_t v = static_cast<uint32_t>(std::stoul(s));
		if (v < lo || v > hi)
			bad(n, "'" + key + "' must be " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
				       ", not " + s);
		return v;
	}
	std::string ifname(const YAML::Node &n, const std::string &key) const
	{
		std::string s = str(n, key);
		if (has_glob(s))
			bad(n, "'" + key + "' names one interface; a pattern such as '" + s + "' goes in 'match'");
		if (s.size() > kIfNameMax || s.find_first_of("/: \t") != std::string::npos)
			bad(n, "'" + s + "' is not an interface name (at most 15 characters, no '/', ':' or blanks)");
		return s;
	}
	std::string pattern(const YAML::Node &n) const
	{
		return str(n, "match");
	}
	ProgramSource program(const Fields &f, const YAML::Node &map, ProgKind want) const
	{
		auto p = get(f, "program");
		if (!p)
			bad(map, "'program' is missing (a program of the collection or an object file path)");
		ProgramSource src{str(*p, "program"), ""};
		auto q = get(f, "prog");
		if (q)
			src.prog = str(*q, "prog");
		if (!src.is_file()) {
			const ProgramSpec *spec = find_program(src.name_or_path);
			if (!spec) {
				std::string names;
				for (const auto &r : registry())
					if (r.kind == want)
						names += (names.empty() ? "" : ", ") + r.name;
				bad(*p, "unknown program '" + src.name_or_path + "'; known: " + names + ", or an object file path");
			}
			if (spec->kind != want)
				bad(*p, want == ProgKind::Xdp
						? "'" + src.name_or_path + "' is a devmap egress program: it goes in an 'egress' of a rule or group"
						: "'" + src.name_or_path + "' is not a devmap egress program (xdpctl load --list)");
			if (q)
				bad(*q, "'prog' picks a program of an object file; '" + src.name_or_path +
						"' names one program of the collection: drop 'prog'");
		} else if (!std::filesystem::path(src.name_or_path).is_absolute()) {
			src.name_or_path = (base_ / src.name_or_path).lexically_normal().string();
		}
		return src;
	}
	std::optional<ConfigEgress> egress(const Fields &f) const
	{
		auto e = get(f, "egress");
		if (!e)
			return std::nullopt;
		auto g = fields(*e, "egress", kEgressKeys);
		ConfigEgress out{program(g, *e, ProgKind::DevmapEgress), false};
		if (auto m = get(g, "src_mac"))
			out.src_mac = boolean(*m, "src_mac");
		return out;
	}

	ConfigInterface interface(const YAML::Node &n, const Config &c) const
	{
		auto f = fields(n, "an interface", kInterfaceKeys);
		ConfigInterface i;
		i.at = mark(n);
		auto name = get(f, "name");
		auto match = get(f, "match");
		if (name && match)
			bad(*match, "give 'name' (one interface) or 'match' (a pattern), not both");
		if (!name && !match)
			bad(n, "an interface needs 'name' (one interface) or 'match' (a pattern)");
		const YAML::Node &id = name ? *name : *match;
		if (name)
			i.name = ifname(id, "name");
		else
			i.match = pattern(id);
		i.at = mark(id);
		for (const auto &o : c.interfaces)
			if (name ? o.name == i.name : o.match == i.match)
				bad(id, (name ? "interface '" + i.name : "pattern '" + i.match) + "' given twice (first at line " +
						std::to_string(o.at.line) + ")");
		i.program = program(f, n, ProgKind::Xdp);
		if (auto m = get(f, "mode")) {
			std::string s = str(*m, "mode");
			if (s != "native" && s != "skb")
				bad(*m, "'mode' must be native or skb, not '" + s + "'");
			i.mode = s == "skb" ? AttachMode::Skb : AttachMode::Native;
		}
		if (auto v = get(f, "counters"))
			i.counters = boolean(*v, "counters");
		if (auto v = get(f, "dev_bound")) {
			i.dev_bound = boolean(*v, "dev_bound");
			if (i.dev_bound && i.mode == AttachMode::Skb)
				bad(*v, "a device-bound program attaches in native mode only; drop 'mode: skb'");
		}
		return i;
	}

	ConfigRule rule(const YAML::Node &n, const Config &c) const
	{
		auto f = fields(n, "a redirect rule", kRuleKeys);
		ConfigRule r;
		r.at = mark(n);
		auto in = get(f, "in");
		auto out = get(f, "out");
		if (!in || !out)
			bad(n, std::string("a redirect rule needs '") + (in ? "out" : "in") + "'");
		r.in = ifname(*in, "in");
		r.out = ifname(*out, "out");
		r.at = mark(*in);
		for (const auto &o : c.redirects)
			if (o.in == r.in)
				bad(*in, "frames arriving on '" + r.in + "' have a rule already (line " + std::to_string(o.at.line) +
						 "): one rule per ingress interface");
		r.egress = egress(f);
		return r;
	}

	uint32_t group_of(const YAML::Node &n) const
	{
		auto f = fields(n, "a multicast group", kGroupKeys);
		auto g = get(f, "group");
		if (!g)
			bad(n, "a multicast group needs 'group' (0.." + std::to_string(kMulticastGroups - 1) + ")");
		return integer(*g, "group", 0, kMulticastGroups - 1);
	}

	ConfigPorts ports(const YAML::Node &n, bool multicast, std::set<std::string> &seen, const std::string &title) const
	{
		Fields f = multicast ? fields(n, "a multicast group", kGroupKeys) : fields(n, "a broadcast entry", kPortsKeys);
		ConfigPorts p;
		p.at = mark(n);
		if (multicast)
			p.group = group_of(n);
		auto ports = get(f, "ports");
		auto match = get(f, "match");
		if (!ports && !match)
			bad(n, "give the ports of " + title + ": 'ports' (names) and/or 'match' (a pattern)");
		if (ports)
			for (const auto &q : seq(*ports, "ports")) {
				std::string name = ifname(q, "ports");
				if (!seen.insert(name).second)
					bad(q, "port '" + name + "' given twice in " + title);
				p.ports.push_back(name);
				p.port_at.push_back(mark(q));
			}
		if (match)
			p.match = pattern(*match);
		p.egress = egress(f);
		return p;
	}

	ConfigMac mac(const YAML::Node &n, const Config &c) const
	{
		auto f = fields(n, "a MAC", kMacKeys);
		auto m = get(f, "mac");
		auto g = get(f, "group");
		if (!m || !g)
			bad(n, std::string("a MAC entry needs '") + (m ? "group" : "mac") + "'");
		std::string s = str(*m, "mac");
		auto parsed = parse_mac(s);
		if (!parsed)
			bad(*m, "'" + s + "' is not a MAC (aa:bb:cc:dd:ee:ff)");
		ConfigMac out{*parsed, integer(*g, "group", 0, kMulticastGroups - 1), mark(*m)};
		for (const auto &o : c.macs)
			if (o.mac == out.mac)
				bad(*m, "MAC " + mac_string(out.mac) + " given twice (first at line " + std::to_string(o.at.line) + ")");
		return out;
	}

	std::string file_;
	std::filesystem::path base_;
};

// ---- Config <-> JSON/YAML (export) -----------------------------------------------------------

json egress_json(const ConfigEgress &e)
{
	json j = {{"program", e.program.name_or_path}};
	if (!e.program.prog.empty())
		j["prog"] = e.program.prog;
	if (e.src_mac)
		j["src_mac"] = true;
	return j;
}

json ports_json(const ConfigPorts &p, bool multicast)
{
	json j = json::object();
	if (multicast)
		j["group"] = p.group;
	if (!p.ports.empty())
		j["ports"] = p.ports;
	if (!p.match.empty())
		j["match"] = p.match;
	if (p.egress)
		j["egress"] = egress_json(*p.egress);
	return j;
}

json config_to_json(const Config &c)
{
	json j = {{"version", 1}};
	json ifs = json::array();
	for (const auto &i : c.interfaces) {
		json e = json::object();
		if (!i.name.empty())
			e["name"] = i.name;
		else
			e["match"] = i.match;
		e["program"] = i.program.name_or_path;
		if (!i.program.prog.empty())
			e["prog"] = i.program.prog;
		e["mode"] = i.mode == AttachMode::Skb ? "skb" : "native";
		e["counters"] = i.counters;
		if (i.dev_bound)
			e["dev_bound"] = true;
		ifs.push_back(e);
	}
	j["interfaces"] = ifs;
	json rules = json::array();
	for (const auto &r : c.redirects) {
		json e = {{"in", r.in}, {"out", r.out}};
		if (r.egress)
			e["egress"] = egress_json(*r.egress);
		rules.push_back(e);
	}
	j["redirect"] = rules;
	json bc = json::array();
	for (const auto &p : c.broadcast)
		bc.push_back(ports_json(p, false));
	j["broadcast"] = bc;
	json groups = json::array(), macs = json::array();
	for (const auto &p : c.multicast)
		groups.push_back(ports_json(p, true));
	for (const auto &m : c.macs)
		macs.push_back({{"mac", mac_string(m.mac)}, {"group", m.group}});
	j["multicast"] = {{"groups", groups}, {"macs", macs}};
	j["monitor"] = c.monitor;
	return j;
}

void emit(YAML::Emitter &e, const json &j)
{
	switch (j.type()) {
	case json::value_t::object:
		e << YAML::BeginMap;
		for (const auto &[k, v] : j.items())
			emit(e << YAML::Key << k << YAML::Value, v);
		e << YAML::EndMap;
		break;
	case json::value_t::array:
		e << (j.empty() ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
		for (const auto &v : j)
			emit(e, v);
		e << YAML::EndSeq;
		break;
	case json::value_t::boolean:
		e << j.get<bool>();
		break;
	case json::value_t::number_unsigned:
	case json::value_t::number_integer:
		e << j.get<int64_t>();
		break;
	default: {
		// a string a plain scalar would turn into something else (true, 12, null) is quoted
		std::string s = j.get<std::string>();
		if (plain_kind(s))
			e << YAML::DoubleQuoted;
		e << s;
	}
	}
}

// ---- Resolving names against the namespace ---------------------------------------------------

std::string at(const Config &c, const ConfigMark &m)
{
	return c.file + ":" + std::to_string(m.line) + ":" + std::to_string(m.column);
}

Error located(const Config &c, const ConfigMark &m, Error e)
{
	e.op = at(c, m) + ": " + e.op;
	return e;
}

std::optional<ConfigEgress> egress_of(const Egress &e)
{
	if (e.source.empty())
		return std::nullopt;
	return ConfigEgress{{e.source, e.prog}, e.src_mac};
}

std::string program_text(const ProgramSource &p)
{
	if (p.name_or_path.empty())
		return "<a program xdpctl cannot name>";
	return p.name_or_path + (p.prog.empty() ? "" : ":" + p.prog);
}

std::string egress_text(const std::optional<ConfigEgress> &e)
{
	if (!e)
		return "";
	return " egress " + program_text(e->program) + (e->src_mac ? " with src_mac" : "");
}

std::string if_text(const IfIntent &i)
{
	return program_text(i.program) + " (" + (i.mode == AttachMode::Skb ? "skb" : "native") + ", counters " +
	       (i.counters ? "on" : "off") + (i.dev_bound ? ", dev_bound" : "") + ")";
}

std::string group_title(const std::string &group)
{
	return group == "bcast" ? "broadcast" : "multicast " + group.substr(5);
}

json egress_step_json(const std::optional<ConfigEgress> &e)
{
	return e ? egress_json(*e) : json(nullptr);
}

json intent_json(const Step &s, bool to)
{
	switch (s.object) {
	case StepObject::Interface: {
		const auto &i = to ? s.if_to : s.if_from;
		if (!i)
			return nullptr;
		return {{"ifname", i->name}, {"ifindex", i->ifindex}, {"program", i->program.name_or_path},
			{"prog", i->program.prog}, {"mode", i->mode == AttachMode::Skb ? "skb" : "native"},
			{"counters", i->counters}, {"dev_bound", i->dev_bound}};
	}
	case StepObject::Redirect: {
		const auto &r = to ? s.rule_to : s.rule_from;
		if (!r)
			return nullptr;
		return {{"in", r->in}, {"out", r->out}, {"egress", egress_step_json(r->egress)}};
	}
	case StepObject::Broadcast:
	case StepObject::Multicast: {
		const auto &p = to ? s.port_to : s.port_from;
		if (!p)
			return nullptr;
		json j = {{"port", p->name}, {"egress", egress_step_json(p->egress)}};
		if (s.object == StepObject::Multicast)
			j["group"] = std::stoul(p->group.substr(5));
		return j;
	}
	case StepObject::Mac: {
		const auto &m = to ? s.mac_to : s.mac_from;
		if (!m)
			return nullptr;
		return {{"mac", mac_string(m->mac)}, {"group", m->group}};
	}
	case StepObject::Monitor:
		return (s.op == StepOp::Add) == to ? json(true) : json(nullptr);
	}
	return nullptr;
}

const char *object_word(StepObject o)
{
	switch (o) {
	case StepObject::Interface:
		return "interface";
	case StepObject::Redirect:
		return "redirect";
	case StepObject::Broadcast:
		return "broadcast";
	case StepObject::Multicast:
		return "multicast";
	case StepObject::Mac:
		return "mac";
	case StepObject::Monitor:
		return "monitor";
	}
	return "?";
}

// ---- Running steps ---------------------------------------------------------------------------

LoadRequest load_request(const IfIntent &i, bool replace)
{
	return {i.program, {i.name}, i.mode, i.dev_bound, replace, i.counters};
}

DevmapOptions devmap_options(const std::optional<ConfigEgress> &e, bool replace)
{
	DevmapOptions o;
	o.replace = replace;
	o.egress_src_mac = e && e->src_mac;
	return o;
}

std::optional<ProgramSource> egress_source(const std::optional<ConfigEgress> &e)
{
	if (!e)
		return std::nullopt;
	return e->program;
}

template <class T>
Status ok_of(const Result<T> &r)
{
	if (!r)
		return std::unexpected(r.error());
	return {};
}

Status add_port(const PortIntent &p, bool replace)
{
	auto o = devmap_options(p.egress, replace);
	return ok_of(p.group == "bcast" ? broadcast_add({p.name}, egress_source(p.egress), o)
					: multicast_add(static_cast<uint32_t>(std::stoul(p.group.substr(5))), {p.name},
							egress_source(p.egress), o));
}

Status del_port(const PortIntent &p)
{
	return ok_of(p.group == "bcast" ? broadcast_del({p.name})
					: multicast_del(static_cast<uint32_t>(std::stoul(p.group.substr(5))), {p.name}));
}

Status add_rule(const RuleIntent &r, bool replace)
{
	return ok_of(redirect_add({{r.in, r.out, egress_source(r.egress)}}, devmap_options(r.egress, replace)));
}

// Runs one step; on success registers on undo how to take it back.
Status run_step(const Step &s, Txn &undo)
{
	switch (s.object) {
	case StepObject::Interface: {
		// the file says which rules and ports stay (they are steps of their own): its unloads keep
		// the entries that name the interface, where `xdpctl unload` drops them
		const std::string name = (s.if_to ? s.if_to : s.if_from)->name;
		// the old program again, when xdpctl can name it (else the undo cannot bring it back)
		auto reload = [from = s.if_from](bool replace) {
			if (from && !from->program.name_or_path.empty())
				(void)load(load_request(*from, replace));
		};
		if (s.op == StepOp::Add) {
			if (auto st = ok_of(load(load_request(*s.if_to, false))); !st)
				return st;
			undo.on_undo([name] { (void)detail::unload_interfaces({name}, true); });
		} else if (s.op == StepOp::Remove) {
			if (auto st = ok_of(detail::unload_interfaces({name}, true)); !st)
				return st;
			undo.on_undo([reload] { reload(false); });
		} else if (s.reattach) {
			if (auto st = ok_of(detail::unload_interfaces({name}, true)); !st)
				return st;
			if (auto st = ok_of(load(load_request(*s.if_to, false))); !st) {
				reload(false);
				return st;
			}
			undo.on_undo([name, reload] {
				(void)detail::unload_interfaces({name}, true);
				reload(false);
			});
		} else {
			if (auto st = ok_of(load(load_request(*s.if_to, true))); !st)
				return st;
			undo.on_undo([reload] { reload(true); });
		}
		return {};
	}
	case StepObject::Redirect: {
		if (s.op == StepOp::Remove) {
			if (auto st = ok_of(redirect_del({s.rule_from->in})); !st)
				return st;
			undo.on_undo([r = *s.rule_from] { (void)add_rule(r, false); });
			return {};
		}
		if (auto st = add_rule(*s.rule_to, s.op == StepOp::Change); !st)
			return st;
		if (s.op == StepOp::Add)
			undo.on_undo([in = s.rule_to->in] { (void)redirect_del({in}); });
		else
			undo.on_undo([r = *s.rule_from] { (void)add_rule(r, true); });
		return {};
	}
	case StepObject::Broadcast:
	case StepObject::Multicast: {
		if (s.op == StepOp::Remove) {
			if (auto st = del_port(*s.port_from); !st)
				return st;
			undo.on_undo([p = *s.port_from] { (void)add_port(p, false); });
			return {};
		}
		if (auto st = add_port(*s.port_to, s.op == StepOp::Change); !st)
			return st;
		if (s.op == StepOp::Add)
			undo.on_undo([p = *s.port_to] { (void)del_port(p); });
		else
			undo.on_undo([p = *s.port_from] { (void)add_port(p, true); });
		return {};
	}
	case StepObject::Mac: {
		if (s.op == StepOp::Remove) {
			if (auto st = ok_of(multicast_mac_del(s.mac_from->mac)); !st)
				return st;
			undo.on_undo([m = *s.mac_from] { (void)multicast_mac_add(m.mac, m.group, true); });
			return {};
		}
		if (auto st = ok_of(multicast_mac_add(s.mac_to->mac, s.mac_to->group, s.op == StepOp::Change)); !st)
			return st;
		if (s.op == StepOp::Add)
			undo.on_undo([m = s.mac_to->mac] { (void)multicast_mac_del(m); });
		else
			undo.on_undo([m = *s.mac_from] { (void)multicast_mac_add(m.mac, m.group, true); });
		return {};
	}
	case StepObject::Monitor:
		// undone only when it changed something: a start that found one running leaves it, a
		// stop that found none (or only part of one) has nothing to bring back
		if (s.op == StepOp::Add) {
			auto r = start_pinned_monitor();
			if (!r)
				return std::unexpected(r.error());
			if (!r->already)
				undo.on_undo([] { (void)stop_pinned_monitor(); });
		} else {
			auto r = stop_pinned_monitor();
			if (!r)
				return std::unexpected(r.error());
			if (r->was_running)
				undo.on_undo([] { (void)start_pinned_monitor(); });
		}
		return {};
	}
	return {};
}

} // namespace

// ---- The file --------------------------------------------------------------------------------

Result<Config> parse_config(const std::string &text, const std::string &file)
{
	std::error_code ec;
	std::filesystem::path base = file == "-" ? std::filesystem::current_path(ec)
						 : std::filesystem::absolute(file, ec).parent_path();
	try {
		return Parser(file, base).run(text);
	} catch (const Bad &b) {
		return std::unexpected(b.e);
	} catch (const YAML::Exception &e) {
		return fail(EINVAL, file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1),
			    "", e.msg);
	}
}

Result<Config> read_config(const std::string &path)
{
	std::string text;
	if (path == "-") {
		text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
		if (std::cin.bad())
			return fail(EIO, "read", "standard input");
	} else {
		std::ifstream in(path);
		if (!in)
			return fail(errno, "open", path);
		text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
		if (in.bad())
			return fail(EIO, "read", path);
	}
	return parse_config(text, path);
}

std::string config_schema()
{
	return schema_json().dump(2) + "\n";
}

std::string config_yaml(const Config &c)
{
	YAML::Emitter e;
	emit(e, config_to_json(c));
	return std::string(e.c_str()) + "\n";
}

std::string config_json(const Config &c)
{
	return config_to_json(c).dump(2) + "\n";
}

// ---- The namespace ---------------------------------------------------------------------------

Result<NamespaceIntent> resolve(const Config &c)
{
	auto devs = list_netdevs();
	if (!devs)
		return std::unexpected(devs.error());
	std::sort(devs->begin(), devs->end(), [](const auto &a, const auto &b) { return a.name < b.name; });
	auto find = [&](const std::string &name) -> const NetDev * {
		for (const auto &d : *devs)
			if (d.name == name)
				return &d;
		return nullptr;
	};
	auto missing = [&](const ConfigMark &m, const std::string &name) {
		return Error{ENODEV, at(c, m), "", "interface '" + name + "' is not in this network namespace (see `ip link`)"};
	};
	// programs: opened (not loaded) once each, so a missing file or a wrong kind changes nothing
	std::set<std::tuple<std::string, std::string, ProgKind>> checked;
	auto check = [&](const ProgramSource &p, ProgKind kind, const ConfigMark &m) -> Status {
		if (!checked.insert({p.name_or_path, p.prog, kind}).second)
			return {};
		auto r = resolve_program(p, kind);
		if (!r)
			return std::unexpected(located(c, m, r.error()));
		return {};
	};

	NamespaceIntent want;
	want.monitor = c.monitor;
	for (const auto &i : c.interfaces) {
		if (!i.name.empty() && !find(i.name))
			return std::unexpected(missing(i.at, i.name));
		if (auto st = check(i.program, ProgKind::Xdp, i.at); !st)
			return std::unexpected(st.error());
	}
	for (const auto &d : *devs) {
		const ConfigInterface *e = nullptr;
		for (const auto &i : c.interfaces)
			if (i.name == d.name)
				e = &i;
		for (const auto &i : c.interfaces)
			if (!e && !i.match.empty() && ::fnmatch(i.match.c_str(), d.name.c_str(), 0) == 0)
				e = &i;
		if (e)
			want.interfaces.push_back({d.name, d.ifindex, e->program, e->mode, e->counters, e->dev_bound});
	}
	for (const auto &r : c.redirects) {
		for (const auto &n : {r.in, r.out})
			if (!find(n))
				return std::unexpected(missing(r.at, n));
		if (r.egress)
			if (auto st = check(r.egress->program, ProgKind::DevmapEgress, r.at); !st)
				return std::unexpected(st.error());
		want.rules.push_back({r.in, r.out, r.egress});
	}
	std::optional<ConfigMark> first_port_at; // where the first port of a group stands
	auto group_ports = [&](const std::vector<ConfigPorts> &entries, bool multicast) -> Status {
		for (const auto &p : entries) {
			std::string group = multicast ? "mcast" + std::to_string(p.group) : "bcast";
			if (p.egress)
				if (auto st = check(p.egress->program, ProgKind::DevmapEgress, p.at); !st)
					return st;
			auto add = [&](const std::string &name, const ConfigMark &m) -> Status {
				for (const auto &q : want.ports)
					if (q.group == group && q.name == name)
						return std::unexpected(Error{EINVAL, at(c, m), "",
									     "port '" + name + "' is in " + group_title(group) +
										     " twice (by name or by another pattern)"});
				want.ports.push_back({group, name, p.egress});
				if (!first_port_at)
					first_port_at = m;
				return {};
			};
			for (size_t k = 0; k < p.ports.size(); k++) {
				if (!find(p.ports[k]))
					return std::unexpected(missing(p.port_at[k], p.ports[k]));
				if (auto st = add(p.ports[k], p.port_at[k]); !st)
					return st;
			}
			if (!p.match.empty())
				for (const auto &d : *devs)
					if (::fnmatch(p.match.c_str(), d.name.c_str(), 0) == 0 &&
					    std::find(p.ports.begin(), p.ports.end(), d.name) == p.ports.end())
						if (auto st = add(d.name, p.at); !st)
							return st;
		}
		return {};
	};
	if (auto st = group_ports(c.broadcast, false); !st)
		return std::unexpected(st.error());
	if (auto st = group_ports(c.multicast, true); !st)
		return std::unexpected(st.error());
	for (const auto &m : c.macs)
		want.macs.push_back({m.mac, m.group});
	// rules, ports and MACs live in the maps a loaded program pins, which go with the last program
	// unloaded: without one, apply would write them and then lose them with its unloads
	if (want.interfaces.empty() && (!want.rules.empty() || !want.ports.empty() || !want.macs.empty())) {
		const ConfigMark m = !c.redirects.empty() ? c.redirects.front().at
				     : first_port_at      ? *first_port_at
							  : c.macs.front().at;
		return std::unexpected(Error{EINVAL, at(c, m), "",
					     "redirect rules, group ports and MACs live in the maps of a program loaded in "
					     "this namespace, and this file loads none on its interfaces here"});
	}

	std::sort(want.rules.begin(), want.rules.end(), [](const auto &a, const auto &b) { return a.in < b.in; });
	std::sort(want.ports.begin(), want.ports.end(),
		  [](const auto &a, const auto &b) { return std::tie(a.group, a.name) < std::tie(b.group, b.name); });
	std::sort(want.macs.begin(), want.macs.end(), [](const auto &a, const auto &b) { return a.mac < b.mac; });
	return want;
}

Result<NamespaceIntent> observe()
{
	if (auto st = require_privileges("apply/diff/export", kReadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	auto ns = status(); // checks privileges and the bpffs tree
	if (!ns)
		return std::unexpected(ns.error());
	NamespaceIntent have;
	auto rec = read_state(*l);
	if (!rec)
		return std::unexpected(rec.error());
	auto id = current_netns();
	if (!id)
		return std::unexpected(id.error());
	// a record of a namespace that died, whose inode this one got: nothing under it is this
	// namespace's, and the next command removes it all (its maps with their MACs, its monitor)
	if (*rec && (*rec)->netns != *id)
		return have;
	auto mon = pinned_monitor_state();
	if (!mon)
		return std::unexpected(mon.error());
	have.monitor = *mon == MonitorPins::Running;
	have.monitor_partial = *mon == MonitorPins::Partial;
	auto macs = multicast_macs(*l);
	if (!macs)
		return std::unexpected(macs.error());
	for (const auto &m : *macs)
		have.macs.push_back({m.mac, m.group});
	if (!*rec)
		return have;

	std::map<int, const InterfaceStatus *> by_index;
	for (const auto &i : ns->interfaces)
		by_index[i.ifindex] = &i;
	auto here = [&](int ifindex, const std::string &name) {
		auto it = by_index.find(ifindex);
		return it != by_index.end() && it->second->name == name;
	};
	for (const auto &i : (*rec)->interfaces) {
		auto it = by_index.find(i.ifindex);
		if (i.pending || it == by_index.end() || it->second->name != i.name || !it->second->owned ||
		    it->second->link_id != i.link_id)
			continue; // not (or no longer) what the record says: the next command's convergence sees to it
		have.interfaces.push_back({i.name, i.ifindex, i.program, i.skb ? AttachMode::Skb : AttachMode::Native,
					   i.counters, i.dev_bound});
		if (i.program.name_or_path.empty())
			have.unnamed.push_back(i.name);
	}
	// An entry the record has without an egress program may run one all the same: a record rebuilt
	// from the devmaps (repair --reset-state) cannot name it. That is not "none": diff replaces it
	// whatever the file says, and export leaves the entry out, saying so.
	auto egress_seen = [&](const Egress &e, const std::vector<std::string> &maps, int key) -> std::optional<ConfigEgress> {
		if (e.source.empty())
			for (const auto &d : ns->devmaps)
				if (std::find(maps.begin(), maps.end(), d.name) != maps.end())
					for (const auto &x : d.entries)
						if (x.key == static_cast<uint32_t>(key) && x.egress_prog_id)
							return ConfigEgress{}; // no name: <a program xdpctl cannot name>
		return egress_of(e);
	};
	for (const auto &r : (*rec)->rules)
		if (r.realized && here(r.in_ifindex, r.in_name) && here(r.out_ifindex, r.out_name)) {
			have.rules.push_back({r.in_name, r.out_name, egress_seen(r.egress, {kRedirectMaps[0], kRedirectMaps[1]}, r.in_ifindex)});
			if (have.rules.back().egress && have.rules.back().egress->program.name_or_path.empty())
				have.unnamed_egress.push_back("redirect " + r.in_name + " -> " + r.out_name);
		}
	for (const auto &p : (*rec)->ports)
		if (p.realized && here(p.ifindex, p.name)) {
			// the group's devmap keyed by port ifindex: bcast_ports_hash, mcast_group0..3
			const std::string map = p.group == "bcast" ? kBroadcastMaps[1] : "mcast_group" + p.group.substr(5);
			have.ports.push_back({p.group, p.name, egress_seen(p.egress, {map}, p.ifindex)});
			if (have.ports.back().egress && have.ports.back().egress->program.name_or_path.empty())
				have.unnamed_egress.push_back(group_title(p.group) + " port " + p.name);
		}

	std::sort(have.interfaces.begin(), have.interfaces.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
	std::sort(have.rules.begin(), have.rules.end(), [](const auto &a, const auto &b) { return a.in < b.in; });
	std::sort(have.ports.begin(), have.ports.end(),
		  [](const auto &a, const auto &b) { return std::tie(a.group, a.name) < std::tie(b.group, b.name); });
	return have;
}

Config to_config(const NamespaceIntent &have)
{
	Config c;
	for (const auto &i : have.interfaces)
		if (!i.program.name_or_path.empty())
			c.interfaces.push_back({i.name, "", i.program, i.mode, i.counters, i.dev_bound, {}});
	auto unnamed = [](const std::optional<ConfigEgress> &e) { return e && e->program.name_or_path.empty(); };
	for (const auto &r : have.rules)
		if (!unnamed(r.egress))
			c.redirects.push_back({r.in, r.out, r.egress, {}});
	// one entry per group and egress program, in the order the ports come
	for (const auto &p : have.ports) {
		if (unnamed(p.egress))
			continue;
		bool multicast = p.group != "bcast";
		auto &entries = multicast ? c.multicast : c.broadcast;
		uint32_t group = multicast ? static_cast<uint32_t>(std::stoul(p.group.substr(5))) : 0;
		auto it = std::find_if(entries.begin(), entries.end(),
				       [&](const auto &e) { return e.group == group && e.egress == p.egress; });
		if (it == entries.end()) {
			entries.push_back({group, {}, {}, "", p.egress, {}});
			it = entries.end() - 1;
		}
		it->ports.push_back(p.name);
	}
	for (const auto &m : have.macs)
		c.macs.push_back({m.mac, m.group, {}});
	c.monitor = have.monitor;
	return c;
}

// ---- Steps -----------------------------------------------------------------------------------

std::string Step::line() const
{
	std::string key = object_word(object);
	std::function<std::string(bool)> value;
	switch (object) {
	case StepObject::Interface:
		key += " " + (if_to ? if_to : if_from)->name;
		value = [this](bool to) { return if_text(*(to ? if_to : if_from)); };
		break;
	case StepObject::Redirect:
		key += " " + (rule_to ? rule_to : rule_from)->in;
		value = [this](bool to) {
			const auto &r = *(to ? rule_to : rule_from);
			return "-> " + r.out + egress_text(r.egress);
		};
		break;
	case StepObject::Broadcast:
	case StepObject::Multicast: {
		const auto &p = *(port_to ? port_to : port_from);
		key = group_title(p.group) + " port " + p.name;
		value = [this](bool to) {
			const auto &e = (to ? port_to : port_from)->egress;
			return e ? egress_text(e).substr(1) : std::string("no egress program");
		};
		break;
	}
	case StepObject::Mac:
		key += " " + mac_string((mac_to ? mac_to : mac_from)->mac);
		value = [this](bool to) { return "group " + std::to_string((to ? mac_to : mac_from)->group); };
		break;
	case StepObject::Monitor:
		break;
	}
	std::string s = std::string(1, static_cast<char>(op)) + " " + key;
	if (!value)
		return s;
	if (op == StepOp::Change)
		return s + ": " + value(false) + " => " + value(true) +
		       (reattach ? " (reattached: the mode or device binding changed)" : "");
	return s + ": " + value(op == StepOp::Add);
}

nlohmann::ordered_json step_json(const Step &s)
{
	return {{"op", std::string(1, static_cast<char>(s.op))},
		{"object", object_word(s.object)},
		{"from", intent_json(s, false)},
		{"to", intent_json(s, true)},
		{"reattach", s.reattach},
		{"line", s.line()}};
}

std::vector<Step> diff(const NamespaceIntent &want, const NamespaceIntent &have)
{
	std::vector<Step> steps, removes;
	auto find_if_named = [](const auto &v, const std::string &name) {
		auto it = std::find_if(v.begin(), v.end(), [&](const auto &x) { return x.name == name; });
		return it == v.end() ? nullptr : &*it;
	};
	// interfaces that run a program while the reattaches run (after the loads and swaps, before
	// the unloads): while one does, the namespace's shared maps stay
	size_t kept = 0;
	std::vector<Step> reattaches;
	for (const auto &w : want.interfaces) {
		const IfIntent *h = find_if_named(have.interfaces, w.name);
		Step s{.object = StepObject::Interface, .if_to = w};
		if (!h) {
			s.op = StepOp::Add;
		} else if (!w.same_attach(*h)) {
			s.op = StepOp::Change;
			s.if_from = *h;
			s.reattach = true;
			reattaches.push_back(std::move(s));
			continue;
		} else if (!w.same_program(*h)) {
			s.op = StepOp::Change;
			s.if_from = *h;
		} else {
			kept++;
			continue;
		}
		kept++;
		steps.push_back(std::move(s));
	}
	for (const auto &h : have.interfaces)
		if (!find_if_named(want.interfaces, h.name)) {
			removes.push_back({.op = StepOp::Remove, .object = StepObject::Interface, .if_from = h});
			kept++;
		}
	// A reattach unloads its interface for a moment: when no other interface runs a program
	// then, the namespace's shared maps go with it (unload), and every entry is written anew.
	// That is the case of a lone reattach only: of two or more, each unload leaves the others.
	// The entries the maps hold are removed as steps of their own before it, so that an apply
	// that fails later writes them back (their undo), and added again after it.
	const bool maps_reset = reattaches.size() == 1 && kept == 0;
	if (maps_reset) {
		for (const auto &h : have.rules)
			steps.push_back({.op = StepOp::Remove, .object = StepObject::Redirect, .rule_from = h});
		for (const auto &h : have.ports)
			steps.push_back({.op = StepOp::Remove,
					 .object = h.group == "bcast" ? StepObject::Broadcast : StepObject::Multicast,
					 .port_from = h});
		for (const auto &h : have.macs)
			steps.push_back({.op = StepOp::Remove, .object = StepObject::Mac, .mac_from = h});
	}
	steps.insert(steps.end(), reattaches.begin(), reattaches.end());

	auto rules_have = maps_reset ? std::vector<RuleIntent>{} : have.rules;
	for (const auto &w : want.rules) {
		auto h = std::find_if(rules_have.begin(), rules_have.end(), [&](const auto &r) { return r.in == w.in; });
		if (h == rules_have.end())
			steps.push_back({.op = StepOp::Add, .object = StepObject::Redirect, .rule_to = w});
		else if (h->out != w.out || h->egress != w.egress)
			steps.push_back({.op = StepOp::Change, .object = StepObject::Redirect, .rule_from = *h, .rule_to = w});
	}
	for (const auto &h : rules_have)
		if (std::none_of(want.rules.begin(), want.rules.end(), [&](const auto &r) { return r.in == h.in; }))
			steps.push_back({.op = StepOp::Remove, .object = StepObject::Redirect, .rule_from = h});

	auto ports_have = maps_reset ? std::vector<PortIntent>{} : have.ports;
	auto same_port = [](const PortIntent &a, const PortIntent &b) { return a.group == b.group && a.name == b.name; };
	auto port_object = [](const PortIntent &p) { return p.group == "bcast" ? StepObject::Broadcast : StepObject::Multicast; };
	for (const auto &h : ports_have) // a port leaves before others join: a group never outgrows what it ends with
		if (std::none_of(want.ports.begin(), want.ports.end(), [&](const auto &p) { return same_port(p, h); }))
			steps.push_back({.op = StepOp::Remove, .object = port_object(h), .port_from = h});
	for (const auto &w : want.ports) {
		auto h = std::find_if(ports_have.begin(), ports_have.end(), [&](const auto &p) { return same_port(p, w); });
		if (h == ports_have.end())
			steps.push_back({.op = StepOp::Add, .object = port_object(w), .port_to = w});
		else if (h->egress != w.egress)
			steps.push_back({.op = StepOp::Change, .object = port_object(w), .port_from = *h, .port_to = w});
	}

	auto macs_have = maps_reset ? std::vector<MacIntent>{} : have.macs;
	for (const auto &w : want.macs) {
		auto h = std::find_if(macs_have.begin(), macs_have.end(), [&](const auto &m) { return m.mac == w.mac; });
		if (h == macs_have.end())
			steps.push_back({.op = StepOp::Add, .object = StepObject::Mac, .mac_to = w});
		else if (h->group != w.group)
			steps.push_back({.op = StepOp::Change, .object = StepObject::Mac, .mac_from = *h, .mac_to = w});
	}
	for (const auto &h : macs_have)
		if (std::none_of(want.macs.begin(), want.macs.end(), [&](const auto &m) { return m.mac == h.mac; }))
			steps.push_back({.op = StepOp::Remove, .object = StepObject::Mac, .mac_from = h});

	steps.insert(steps.end(), removes.begin(), removes.end());
	// a monitor an interrupted start or stop left half pinned is finished either way: start pins a
	// whole one in its place, stop removes what is left
	if (want.monitor && (!have.monitor || have.monitor_partial))
		steps.push_back({.op = StepOp::Add, .object = StepObject::Monitor});
	else if (!want.monitor && (have.monitor || have.monitor_partial))
		steps.push_back({.op = StepOp::Remove, .object = StepObject::Monitor});
	return steps;
}

Result<std::vector<Step>> apply(const std::vector<Step> &steps)
{
	std::vector<Step> done;
	if (steps.empty())
		return done;
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	// The levels of ROOT this apply creates: each verb keeps those it made when it succeeds, so a
	// failed apply on a namespace without any would leave them after its undo; they go last.
	std::optional<Txn> made(std::in_place);
	if (auto st = ensure_bpffs(*l, &*made); !st)
		return std::unexpected(detail::with_privilege_hint(st.error()));
	std::optional<Error> failed;
	{
		Txn undo; // the inverse of every step run, in reverse, unless all of them succeed
		for (const auto &s : steps) {
			if (auto st = run_step(s, undo); !st) {
				failed = st.error();
				break;
			}
			done.push_back(s);
		}
		if (!failed) {
			undo.commit();
			made->commit();
			return done;
		}
	}
	// under the lock, as a failed load takes back the levels it made (a command waiting for the
	// lock then sees ROOT went and says so); without the lock they stay
	auto lock = RootLock::acquire(*l);
	if (!lock)
		made->commit();
	made.reset();
	return std::unexpected(*failed);
}

Result<std::vector<Step>> apply_config(const Config &c)
{
	// what the steps may need (load, devmaps, the monitor), asked once under apply's name
	if (auto st = require_privileges("apply", kLoadCaps | kDevmapCaps | (c.monitor ? kMonitorCaps : 0)); !st)
		return std::unexpected(st.error());
	auto want = resolve(c);
	if (!want)
		return std::unexpected(want.error());
	auto notes = repair();
	if (!notes)
		return std::unexpected(notes.error());
	detail::report_convergence(*notes);
	auto have = observe();
	if (!have)
		return std::unexpected(have.error());
	return apply(diff(*want, *have));
}

} // namespace xdpctl
