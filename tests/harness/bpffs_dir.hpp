// A private bpffs instance for one test: mounted at a fresh /tmp directory, with XDPCTL_BPFFS
// pointing inside it, so concurrent runs never share pins; unmounted and removed at the end.
#pragma once

#include <string>
#include <vector>

namespace xt {

class BpffsDir {
public:
	BpffsDir();
	~BpffsDir();
	BpffsDir(const BpffsDir &) = delete;
	BpffsDir &operator=(const BpffsDir &) = delete;

	[[nodiscard]] bool ok() const { return ok_; }
	[[nodiscard]] const std::string &mount_point() const { return dir_; }
	[[nodiscard]] std::string root() const { return dir_ + "/xdpctl"; } // = $XDPCTL_BPFFS

private:
	std::string dir_;
	bool ok_ = false;
};

// Every entry below dir, recursively, as paths relative to dir ("ns1/if2/link"), sorted: a set
// of names (a file unpinned and pinned again moves in readdir order, not in the tree).
std::vector<std::string> tree(const std::string &dir);

// A command run to completion with stdout and stderr kept apart.
struct CmdResult {
	int rc = -1;
	std::string out, err;
};

// A command's output as its lines, without their newlines.
std::vector<std::string> split_lines(const std::string &s);

// Runs `cmd` through /bin/sh with `env` ("NAME=value ...", shell assignments) prepended.
CmdResult run_cmd(const std::string &cmd, const std::string &env = {});

} // namespace xt
