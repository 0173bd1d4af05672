// The xdpctl command line: main.cpp builds the CLI11 app and calls one register_<verb>() per verb
// file; a new verb is a new file plus one line in main.cpp.
//
// Exit codes: 0 success, 1 the system refused or the state does not allow it (runtime error),
// 2 the command line itself is wrong (usage error). Errors are one line on stderr that says what
// to do; with -j/--json the same line is also printed on stdout as one compact JSON line,
// {"error": ..., "exit": N}.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "xdpctl/error.hpp"

namespace cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

struct Globals {
	bool json = false;
	bool verbose = false;
	int exit_code = kExitOk;
};

void register_load(CLI::App &app, Globals &g);
void register_unload(CLI::App &app, Globals &g);
void register_status(CLI::App &app, Globals &g);
void register_redirect(CLI::App &app, Globals &g);
void register_broadcast(CLI::App &app, Globals &g);
void register_multicast(CLI::App &app, Globals &g);
void register_ctl(CLI::App &app, Globals &g);
void register_stats(CLI::App &app, Globals &g);
void register_features(CLI::App &app, Globals &g);
void register_demo(CLI::App &app, Globals &g);
void register_monitor(CLI::App &app, Globals &g);
void register_repair(CLI::App &app, Globals &g);
void register_apply(CLI::App &app, Globals &g); // apply, diff, export, config schema (apply.cpp)

// -j/--json and -v/--verbose on a subcommand, bound to the globals.
void add_common_flags(CLI::App &sub, Globals &g);

// Prints a library error as the verb's one line; returns kExitRuntime.
int runtime_error(const Globals &g, const std::string &verb, const xdpctl::Error &e);
// Prints a usage error as the verb's one line; returns kExitUsage.
int usage_error(const Globals &g, const std::string &verb, const std::string &msg);
// Every verb that takes a list of interfaces (load, unload, stats, redirect del, broadcast, multicast)
// checks it here first: a name given twice is the verb's usage error ("interface 'veth0' given
// twice", kExitUsage) before anything is looked up or changed; kExitOk when each name is there once.
int check_each_once(const Globals &g, const std::string &verb, const std::vector<std::string> &names);
// The man pages (xdpctl.8, xdpctl-VERB.8) and the bash completion script, generated from the
// app's own definitions (docs.cpp); hidden `xdpctl --generate-man DIR`, `--generate-completion`.
int write_man_pages(const CLI::App &app, const std::string &dir);
std::string bash_completion(const CLI::App &app);
// Prints JSON (pretty unless one line is asked for) to stdout.
void print_json(const nlohmann::json &j);

// What -i/--interval and -c/--count take wherever a verb repeats (stats, ctl stats): seconds from
// 0.01 to 86400, a count from 1; anything else is a usage error that says so.
CLI::Validator interval_seconds();
CLI::Validator interval_count();

} // namespace cli
