#include "bpffs_dir.hpp"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace xt {

BpffsDir::BpffsDir()
{
	char tmpl[] = "/tmp/xdpctl-bpffs-XXXXXX";
	if (!mkdtemp(tmpl))
		return;
	dir_ = tmpl;
	ok_ = mount("bpf", dir_.c_str(), "bpf", 0, "mode=0700") == 0;
	if (ok_)
		setenv("XDPCTL_BPFFS", root().c_str(), 1);
}

BpffsDir::~BpffsDir()
{
	unsetenv("XDPCTL_BPFFS");
	if (ok_)
		umount2(dir_.c_str(), MNT_DETACH);
	if (!dir_.empty())
		rmdir(dir_.c_str());
}

namespace {
void walk(const std::string &base, const std::string &rel, std::vector<std::string> &out)
{
	DIR *d = opendir((base + (rel.empty() ? "" : "/" + rel)).c_str());
	if (!d)
		return;
	while (auto *e = readdir(d)) {
		std::string n = e->d_name;
		if (n == "." || n == "..")
			continue;
		std::string r = rel.empty() ? n : rel + "/" + n;
		out.push_back(r);
		if (e->d_type == DT_DIR)
			walk(base, r, out);
	}
	closedir(d);
}

std::string slurp(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}
} // namespace

std::vector<std::string> tree(const std::string &dir)
{
	std::vector<std::string> out;
	walk(dir, "", out);
	std::sort(out.begin(), out.end());
	return out;
}

std::vector<std::string> split_lines(const std::string &s)
{
	std::vector<std::string> out;
	std::istringstream in(s);
	for (std::string l; std::getline(in, l);)
		out.push_back(l);
	return out;
}

CmdResult run_cmd(const std::string &cmd, const std::string &env)
{
	char o[] = "/tmp/xdpctl-out-XXXXXX", e[] = "/tmp/xdpctl-err-XXXXXX";
	int fo = mkstemp(o), fe = mkstemp(e);
	close(fo);
	close(fe);
	// `env` is deliberately not used: in the kernel lane's guest it is busybox's applet, which
	// prefers its own applets over PATH (FEATURE_PREFER_APPLETS), so `env X=1 ip netns exec ...`
	// ran busybox's `ip` (no `netns`) instead of iproute2's. Assignments in front of a simple
	// command do the same through the shell, which looks the command up in PATH.
	std::string full = (env.empty() ? "" : env + " ") + cmd + " >" + o + " 2>" + e;
	int st = system(full.c_str());
	CmdResult r;
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = slurp(o);
	r.err = slurp(e);
	unlink(o);
	unlink(e);
	return r;
}

} // namespace xt
