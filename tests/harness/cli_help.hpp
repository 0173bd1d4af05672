// What xdpctl's `--help` says, read the way a user reads it: the verbs of a command.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace xt {

// The names in the "Subcommands:" section of a CLI11 help text ("  NAME   what it does").
inline std::vector<std::string> subcommands_in(const std::string &help)
{
	std::vector<std::string> out;
	std::istringstream in(help);
	bool inside = false;
	for (std::string l; std::getline(in, l);) {
		if (l == "Subcommands:") {
			inside = true;
			continue;
		}
		if (!inside)
			continue;
		if (l.empty() || l[0] != ' ')
			break;
		std::istringstream words(l);
		std::string name;
		words >> name;
		out.push_back(name);
	}
	return out;
}

} // namespace xt
