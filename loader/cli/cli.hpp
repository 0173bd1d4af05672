// Minimal stand-in for the CLI's shared header (owned by the loader engineer; replace freely):
// what every verb's register function receives.
#pragma once

#include <CLI/CLI.hpp>

struct Globals {
	bool json = false; // -j: one JSON document instead of text
};

void register_ctl(CLI::App &app, Globals &g);
