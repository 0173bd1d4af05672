// A command that keeps running while the test talks to it: its stdout read line by line (to
// act when it has printed something), signals sent to it, its exit status collected. For verbs
// that run until interrupted (xdpctl stats, xdpctl demo). The child starts in the calling
// thread's network namespace.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bpffs_dir.hpp"

namespace xt {

// How run_direct runs a program.
struct DirectRun {
	std::vector<std::string> env; // "NAME=value": replaces or adds to the test's environment
	bool drop_xdpctl_env = false; // the test's own XDPCTL_* variables are not passed on
	std::string netns;            // the child enters /run/netns/NETNS first; empty: the thread's
	int kill_after_us = -1;       // >= 0: SIGKILLed after that long unless it ended
};

// Runs argv (argv[0] the program's path) with fork + execve: no shell, no `ip netns exec`, one
// process (a process costs ~0.3 s in the kernel lane's TCG guests). The child starts in the
// calling thread's network namespace, or in o.netns, and in the test's mount namespace (`ip netns
// exec` would give it one of its own with a fresh /sys: a test that needs that keeps running
// `ns.exec() + ...` through run_cmd). rc is the exit code, or -SIG when a signal ended it.
CmdResult run_direct(const std::vector<std::string> &argv, const DirectRun &o = {});
// ARGS split at whitespace, as a shell splits words without quotes.
std::vector<std::string> split_args(const std::string &args);

class Spawned {
public:
	// Runs `cmd` through /bin/sh with `env` ("NAME=value ...") in front, stderr to a file.
	explicit Spawned(const std::string &cmd, const std::string &env = {});
	~Spawned(); // kills (SIGKILL) and reaps a child still running
	Spawned(const Spawned &) = delete;
	Spawned &operator=(const Spawned &) = delete;

	// The next line of stdout (without '\n'); nullopt at EOF or after `wait`.
	std::optional<std::string> line(std::chrono::milliseconds wait = std::chrono::seconds(10));
	void signal(int sig);
	// What the child wrote to stderr so far (it keeps running): to act once it has said something.
	[[nodiscard]] std::string err_so_far() const;
	// Exit code after the child ended (-1 if killed by a signal or not ended within `wait`);
	// `rest` gets the stdout not read yet, `err` all of stderr.
	int finish(std::string *rest = nullptr, std::string *err = nullptr,
		   std::chrono::milliseconds wait = std::chrono::seconds(60));

private:
	pid_t pid_ = -1;
	int out_ = -1;
	std::string buf_, err_path_;
};

} // namespace xt
