// Man pages and bash completion, generated from the CLI11 definitions themselves, so that they say
// what `--help` says: the same option names, value labels and descriptions (CLI11's own
// Formatter renders them), the same verbs. Hidden entry points, run by the build:
//
//   xdpctl --generate-man DIR       xdpctl.8 and xdpctl-VERB.8 for every verb into DIR
//   xdpctl --generate-completion    the bash completion script on stdout
#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "cli.hpp"
#include "xdpctl/registry.hpp"
#include "xdpctl/version.hpp"

namespace cli {

namespace {

std::vector<const CLI::App *> verbs_of(const CLI::App &app)
{
	return app.get_subcommands([](const CLI::App *a) { return !a->get_group().empty(); });
}

std::vector<const CLI::Option *> options_of(const CLI::App &app, bool positional)
{
	return app.get_options([positional](const CLI::Option *o) {
		return !o->get_group().empty() && o->nonpositional() != positional;
	});
}

// roff: backslashes escaped, a leading '.' or '\'' made literal, '-' as the ASCII hyphen-minus
std::string roff(const std::string &s)
{
	std::string out;
	for (char c : s) {
		if (c == '\\')
			out += "\\e";
		else if (c == '-')
			out += "\\-";
		else
			out += c;
	}
	std::string lines, line;
	for (size_t i = 0; i <= out.size(); i++) {
		if (i == out.size() || out[i] == '\n') {
			if (!line.empty() && (line[0] == '.' || line[0] == '\''))
				line = "\\&" + line;
			lines += line + (i == out.size() ? "" : "\n");
			line.clear();
		} else {
			line += out[i];
		}
	}
	return lines;
}

// A footer as paragraphs: lines that start with blanks (examples) keep their layout.
std::string roff_text(const std::string &text)
{
	std::string out;
	bool nofill = false;
	size_t start = 0;
	while (start < text.size()) {
		size_t nl = text.find('\n', start);
		std::string l = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
		start = nl == std::string::npos ? text.size() : nl + 1;
		bool literal = l.find("   ") != std::string::npos || l.starts_with("Example");
		if (literal && !nofill)
			out += ".nf\n";
		if (!literal && nofill)
			out += ".fi\n";
		nofill = literal;
		out += roff(l) + "\n";
	}
	if (nofill)
		out += ".fi\n";
	return out;
}

std::string synopsis(const CLI::App &cmd, const std::string &path)
{
	const CLI::Formatter f;
	std::string s = ".B " + roff(path) + "\n";
	std::string args;
	if (!options_of(cmd, false).empty())
		args += "[\\fIOPTIONS\\fR]";
	for (const auto *p : options_of(cmd, true))
		args += (args.empty() ? "" : " ") + std::string("\\fI") + roff(f.make_option_usage(p)) + "\\fR";
	if (!verbs_of(cmd).empty())
		args += (args.empty() ? "" : " ") + std::string("\\fIVERB\\fR ...");
	return s + (args.empty() ? "" : args + "\n");
}

std::string options_section(const CLI::App &cmd)
{
	const CLI::Formatter f;
	std::string out;
	for (bool positional : {true, false})
		for (const auto *o : options_of(cmd, positional))
			out += ".TP\n\\fB" + roff(f.make_option_name(o, positional)) + "\\fR" + roff(f.make_option_opts(o)) +
			       "\n" + roff(o->get_description()) + "\n";
	return out;
}

std::string page_head(const std::string &name, const std::string &what)
{
	std::string upper;
	for (char c : name)
		upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	// .nh/.ad l: no hyphenation or justification, so the page reads (and greps) like --help
	return fmt::format(".TH {} 8 \"\" \"xdpctl {}\" \"System Administration\"\n.nh\n.ad l\n.SH NAME\n{} \\- {}\n", roff(upper),
			   XDPCTL_VERSION, roff(name), roff(what));
}

std::string see_also(const CLI::App &app, const std::string &except)
{
	std::string s = ".SH SEE ALSO\n";
	std::vector<std::string> refs;
	if (!except.empty())
		refs.push_back(".BR xdpctl (8)");
	for (const auto *v : verbs_of(app))
		if (v->get_name() != except)
			refs.push_back(".BR xdpctl\\-" + roff(v->get_name()) + " (8)");
	refs.push_back(".BR bpftool (8)");
	refs.push_back(".BR ip\\-link (8)");
	for (size_t i = 0; i < refs.size(); i++)
		s += refs[i] + (i + 1 < refs.size() ? " ,\n" : "\n");
	return s;
}

std::string top_page(const CLI::App &app)
{
	std::string s = page_head("xdpctl", app.get_description().substr(app.get_description().find(": ") + 2));
	s += ".SH SYNOPSIS\n" + synopsis(app, "xdpctl") + ".br\n.B xdpctl \\-\\-version\n";
	s += ".SH DESCRIPTION\n" + roff(app.get_description()) + "\n";
	s += ".SH VERBS\n";
	for (const auto *v : verbs_of(app))
		s += ".TP\n.BR xdpctl\\-" + roff(v->get_name()) + " (8)\n" + roff(v->get_description()) + "\n";
	s += ".SH OPTIONS\n" + options_section(app);
	s += ".SH NOTES\n" + roff_text(app.get_footer());
	return s + see_also(app, "");
}

// One verb's page; a verb with verbs of its own documents each in a subsection.
std::string verb_page(const CLI::App &app, const CLI::App &verb)
{
	std::string path = "xdpctl " + verb.get_name();
	std::string s = page_head("xdpctl-" + verb.get_name(), verb.get_description());
	s += ".SH SYNOPSIS\n";
	std::vector<std::pair<const CLI::App *, std::string>> cmds;
	// depth first: the verb, its verbs, theirs (multicast mac add)
	std::vector<std::pair<const CLI::App *, std::string>> todo = {{&verb, path}};
	while (!todo.empty()) {
		auto [c, p] = todo.front();
		todo.erase(todo.begin());
		cmds.emplace_back(c, p);
		auto subs = verbs_of(*c);
		for (auto it = subs.rbegin(); it != subs.rend(); ++it)
			todo.insert(todo.begin(), {*it, p + " " + (*it)->get_name()});
	}
	for (size_t i = 0; i < cmds.size(); i++)
		if (verbs_of(*cmds[i].first).empty() || cmds[i].first == &verb)
			s += (i ? ".br\n" : "") + synopsis(*cmds[i].first, cmds[i].second);
	s += ".SH DESCRIPTION\n" + roff(verb.get_description()) + "\n";
	if (std::string o = options_section(verb); !o.empty())
		s += ".SH OPTIONS\n" + o;
	if (!verb.get_footer().empty())
		s += ".SH NOTES\n" + roff_text(verb.get_footer());
	if (cmds.size() > 1) {
		s += ".SH VERBS\n";
		for (size_t i = 1; i < cmds.size(); i++) {
			const CLI::App &c = *cmds[i].first;
			s += ".SS \"" + roff(cmds[i].second) + "\"\n" + synopsis(c, cmds[i].second) + ".PP\n" +
			     roff(c.get_description()) + "\n" + options_section(c);
			if (!c.get_footer().empty())
				s += ".PP\n" + roff_text(c.get_footer());
		}
	}
	s += ".SH \"EXIT STATUS\"\n0 success, 1 runtime error (also: output that could not be written), 2 usage "
	     "error (also: an interface named twice); see\n.BR xdpctl (8).\n";
	return s + see_also(app, verb.get_name());
}

int write_file(const std::string &path, const std::string &text)
{
	std::ofstream out(path);
	out << text;
	out.close();
	if (!out) {
		fmt::print(stderr, "xdpctl: cannot write {}: {}\n", path, std::strerror(errno));
		return kExitRuntime;
	}
	return kExitOk;
}

// What the words of a positional or an option's value are, by the name the verb gave it.
const char *value_kind(const CLI::Option &o)
{
	static const std::set<std::string> ifnames = {"interfaces", "ports", "IFNAME", "in", "out"};
	static const std::set<std::string> programs = {"program", "--egress"};
	std::string n = o.nonpositional() ? o.get_name() : o.get_name(true);
	if (ifnames.contains(n))
		return "ifname";
	if (programs.contains(n))
		return "program";
	return o.get_expected_max() == 0 ? "" : "other"; // a flag takes no value
}

} // namespace

int write_man_pages(const CLI::App &app, const std::string &dir)
{
	if (int rc = write_file(dir + "/xdpctl.8", top_page(app)))
		return rc;
	for (const auto *v : verbs_of(app))
		if (int rc = write_file(dir + "/xdpctl-" + v->get_name() + ".8", verb_page(app, *v)))
			return rc;
	return kExitOk;
}

std::string bash_completion(const CLI::App &app)
{
	// Tables keyed by the command path ("xdpctl", "xdpctl load", "xdpctl redirect add"): its
	// verbs, its flags, its options that take a value and what that value is, its positionals.
	std::string verbs, flags, optkind, poskind;
	std::vector<std::pair<const CLI::App *, std::string>> todo = {{&app, "xdpctl"}};
	while (!todo.empty()) {
		auto [c, path] = todo.front();
		todo.erase(todo.begin());
		std::string vs, fs, pk;
		for (const auto *v : verbs_of(*c)) {
			vs += (vs.empty() ? "" : " ") + v->get_name();
			todo.emplace_back(v, path + " " + v->get_name());
		}
		for (const auto *o : options_of(*c, false)) {
			std::string names = o->get_name(false, true);
			for (size_t b = 0; b < names.size();) {
				size_t e = names.find(',', b);
				std::string n = names.substr(b, e == std::string::npos ? std::string::npos : e - b);
				fs += (fs.empty() ? "" : " ") + n;
				if (const char *k = value_kind(*o); *k)
					optkind += fmt::format("\t[\"{} {}\"]={}\n", path, n, k);
				b = e == std::string::npos ? names.size() : e + 1;
			}
		}
		for (const auto *p : options_of(*c, true))
			pk += (pk.empty() ? "" : " ") + std::string(value_kind(*p)) +
			      (p->get_expected_max() > 1 ? "..." : "");
		verbs += fmt::format("\t[\"{}\"]=\"{}\"\n", path, vs);
		flags += fmt::format("\t[\"{}\"]=\"{}\"\n", path, fs);
		poskind += fmt::format("\t[\"{}\"]=\"{}\"\n", path, pk);
	}
	std::string programs;
	for (const auto &p : xdpctl::registry())
		programs += (programs.empty() ? "" : " ") + p.name;

	return fmt::format(R"SH(# bash completion for xdpctl {version}: verbs, flags, program names (xdpctl load --list) and
# interface names. Generated by `xdpctl --generate-completion` from the command's own definitions.
declare -A _xdpctl_verbs=(
{verbs})
declare -A _xdpctl_flags=(
{flags})
declare -A _xdpctl_optkind=(
{optkind})
declare -A _xdpctl_poskind=(
{poskind})
_xdpctl_programs="{programs}"

# _xdpctl_values KIND CUR: the words a value of KIND can be
_xdpctl_values() {{
	case "$1" in
	ifname) COMPREPLY+=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$2")) ;;
	program)
		COMPREPLY+=($(compgen -W "$_xdpctl_programs" -- "$2"))
		COMPREPLY+=($(compgen -f -X '!*.o' -- "$2") $(compgen -d -S / -- "$2"))
		;;
	other) COMPREPLY+=($(compgen -f -- "$2")) ;;
	esac
}}

_xdpctl() {{
	local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
	local path=xdpctl w i npos=0 kind
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${{COMP_WORDS[i]}}
		if [[ -n ${{_xdpctl_optkind["$path $w"]+x}} ]]; then
			((i++)) # the option's value
		elif [[ $w != -* ]]; then
			if [[ " ${{_xdpctl_verbs[$path]}} " == *" $w "* ]]; then
				path="$path $w"
				npos=0
			else
				((npos++))
			fi
		fi
	done
	if ((COMP_CWORD > 1)) && [[ -n ${{_xdpctl_optkind["$path $prev"]+x}} ]]; then
		_xdpctl_values "${{_xdpctl_optkind["$path $prev"]}}" "$cur"
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${{_xdpctl_flags[$path]}}" -- "$cur"))
		return
	fi
	if [[ -n ${{_xdpctl_verbs[$path]}} ]]; then
		COMPREPLY=($(compgen -W "${{_xdpctl_verbs[$path]}}" -- "$cur"))
		return
	fi
	# the positional this word is: the npos-th, or the last one when it takes many ("ifname...")
	local kinds=(${{_xdpctl_poskind[$path]}})
	if ((npos < ${{#kinds[@]}})); then kind=${{kinds[npos]}}; else kind=${{kinds[-1]:-}}; [[ $kind == *... ]] || kind=""; fi
	_xdpctl_values "${{kind%...}}" "$cur"
}}
complete -F _xdpctl xdpctl
)SH",
			   fmt::arg("version", XDPCTL_VERSION), fmt::arg("verbs", verbs), fmt::arg("flags", flags),
			   fmt::arg("optkind", optkind), fmt::arg("poskind", poskind), fmt::arg("programs", programs));
}

} // namespace cli
