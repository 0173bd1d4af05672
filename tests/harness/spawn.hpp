// A command that keeps running while the test talks to it: its stdout read line by line (to
// act when it has printed something), signals sent to it, its exit status collected. For verbs
// that run until interrupted (xdpctl stats, xdpctl demo). The child starts in the calling
// thread's network namespace.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace xt {

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
