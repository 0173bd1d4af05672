#include "spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace xt {

CmdResult run_direct(const std::vector<std::string> &argv_in, const DirectRun &o)
{
	CmdResult r;
	r.rc = -1;
	if (argv_in.empty())
		return r;
	// everything the child needs is made before fork: other threads may hold malloc's lock
	auto name_of = [](const std::string &e) { return e.substr(0, e.find('=')); };
	std::vector<std::string> env = o.env;
	for (char **e = environ; *e; e++) {
		std::string v = *e;
		if (o.drop_xdpctl_env && v.starts_with("XDPCTL_"))
			continue;
		if (std::none_of(o.env.begin(), o.env.end(), [&](const std::string &x) { return name_of(x) == name_of(v); }))
			env.push_back(std::move(v));
	}
	std::vector<char *> envp, argv;
	for (auto &e : env)
		envp.push_back(e.data());
	envp.push_back(nullptr);
	for (const auto &a : argv_in)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	int ns = -1;
	if (!o.netns.empty()) {
		ns = open(("/run/netns/" + o.netns).c_str(), O_RDONLY | O_CLOEXEC);
		if (ns < 0) {
			r.err = "run_direct: open /run/netns/" + o.netns + ": " + std::strerror(errno) + "\n";
			return r;
		}
	}
	int out = memfd_create("run-direct-out", MFD_CLOEXEC), err = memfd_create("run-direct-err", MFD_CLOEXEC);
	pid_t pid = fork();
	if (pid == 0) {
		if (ns >= 0 && setns(ns, CLONE_NEWNET))
			_exit(127);
		dup2(out, 1);
		dup2(err, 2);
		execve(argv[0], argv.data(), envp.data());
		_exit(127);
	}
	if (ns >= 0)
		close(ns);
	if (pid > 0 && o.kill_after_us >= 0) {
		std::this_thread::sleep_for(std::chrono::microseconds(o.kill_after_us));
		kill(pid, SIGKILL);
	}
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	auto slurp = [](int fd) {
		std::string s;
		char b[4096];
		lseek(fd, 0, SEEK_SET);
		for (ssize_t n; (n = read(fd, b, sizeof(b))) > 0;)
			s.append(b, static_cast<size_t>(n));
		close(fd);
		return s;
	};
	if (pid > 0)
		r.rc = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

std::vector<std::string> split_args(const std::string &args)
{
	std::vector<std::string> out;
	std::istringstream in(args);
	for (std::string w; in >> w;)
		out.push_back(w);
	return out;
}

Spawned::Spawned(const std::string &cmd, const std::string &env)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return;
	char errf[] = "/tmp/xdpctl-spawn-err-XXXXXX";
	int fe = mkstemp(errf);
	err_path_ = errf;
	// Assignments in front of the command, not env(1): see run_cmd (busybox's env in the lane).
	std::string full = (env.empty() ? "" : env + " ") + "exec " + cmd;
	pid_ = fork();
	if (pid_ == 0) {
		dup2(p[1], 1);
		dup2(fe, 2);
		execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char *>(nullptr));
		_exit(127);
	}
	close(p[1]);
	close(fe);
	out_ = p[0];
}

Spawned::~Spawned()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}
	if (out_ >= 0)
		close(out_);
	if (!err_path_.empty())
		unlink(err_path_.c_str());
}

std::optional<std::string> Spawned::line(std::chrono::milliseconds wait)
{
	auto deadline = std::chrono::steady_clock::now() + wait;
	for (;;) {
		if (auto nl = buf_.find('\n'); nl != std::string::npos) {
			std::string l = buf_.substr(0, nl);
			buf_.erase(0, nl + 1);
			return l;
		}
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
		if (out_ < 0 || left.count() <= 0)
			return std::nullopt;
		struct pollfd pfd {out_, POLLIN, 0};
		if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
			continue;
		char b[4096];
		ssize_t n = read(out_, b, sizeof(b));
		if (n <= 0)
			return std::nullopt;
		buf_.append(b, static_cast<size_t>(n));
	}
}

void Spawned::signal(int sig)
{
	if (pid_ > 0)
		kill(pid_, sig);
}

std::string Spawned::err_so_far() const
{
	std::ifstream f(err_path_);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

int Spawned::finish(std::string *rest, std::string *err, std::chrono::milliseconds wait)
{
	int rc = -1;
	auto deadline = std::chrono::steady_clock::now() + wait;
	while (pid_ > 0) {
		// keep the pipe drained so that the child never blocks on a full stdout
		struct pollfd pfd {out_, POLLIN, 0};
		if (out_ >= 0 && poll(&pfd, 1, 20) > 0) {
			char b[4096];
			ssize_t n = read(out_, b, sizeof(b));
			if (n > 0)
				buf_.append(b, static_cast<size_t>(n));
		}
		int st = 0;
		if (waitpid(pid_, &st, WNOHANG) == pid_) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			pid_ = -1;
			break;
		}
		if (std::chrono::steady_clock::now() > deadline)
			break;
		if (out_ < 0)
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	if (pid_ < 0 && out_ >= 0) {
		char b[4096];
		for (ssize_t n; (n = read(out_, b, sizeof(b))) > 0;)
			buf_.append(b, static_cast<size_t>(n));
	}
	if (rest)
		*rest = std::move(buf_);
	buf_.clear();
	if (err)
		*err = err_so_far();
	return rc;
}

} // namespace xt
