#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "xdpctl/bpffs.hpp"

namespace xdpctl {

namespace {

// Every directory on the way is opened relative to the one before, never following a symlink,
// and checked on the opened fd: what is checked is what is used.
constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

bool is_bpffs(int fd)
{
	struct statfs st {};
	return fstatfs(fd, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

bool is_bpffs(const std::string &path)
{
	struct statfs st {};
	return statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

bool under(const std::string &path, const std::string &dir)
{
	return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
			       path[dir.size()] == '/');
}

// Whether another process lives in this process's mount namespace. `ip netns exec` runs its
// command in a mount namespace of its own (with a fresh /sys): a bpffs mounted there dies with
// the command, and every pin in it. When nothing can be read, the namespace is taken as shared.
bool mount_ns_shared()
{
	struct stat self {};
	if (stat("/proc/self/ns/mnt", &self))
		return true;
	std::string me = std::to_string(getpid());
	for (const auto &pid : list_dir("/proc")) {
		if (pid == me || !std::all_of(pid.begin(), pid.end(), ::isdigit))
			continue;
		struct stat st {};
		if (stat(("/proc/" + pid + "/ns/mnt").c_str(), &st) == 0 && st.st_ino == self.st_ino && st.st_dev == self.st_dev)
			return true;
	}
	return false;
}

std::vector<std::string> components(const std::string &abs)
{
	std::vector<std::string> out;
	size_t start = 1;
	while (start < abs.size()) {
		size_t slash = abs.find('/', start);
		size_t end = slash == std::string::npos ? abs.size() : slash;
		if (end > start)
			out.push_back(abs.substr(start, end - start));
		start = end + 1;
	}
	return out;
}

std::string octal_mode(mode_t m)
{
	char b[8];
	std::snprintf(b, sizeof(b), "%04o", static_cast<unsigned>(m & 07777));
	return b;
}

Error refuse(const std::string &path, const std::string &why, const std::string &fix)
{
	return Error{EPERM, "refusing", path, why + ": " + fix};
}

Error not_bpffs(const std::string &root, const std::string &where)
{
	return Error{ENOTSUP, "bpffs", root,
		     where + " is not on a BPF filesystem; mount one (`mount -t bpf bpf DIR`) or set XDPCTL_BPFFS to a directory inside one"};
}

// The rule for what xdpctl keeps on a bpffs: owned by root and writable by nobody else, so that
// only root can add, rename or remove an entry. Directories above ROOT (the mount point and
// what lies between it and ROOT) may be group/other-writable when sticky, as /sys/fs/bpf is
// (mode 1777): then nobody else can rename or remove root's entries there, and an entry planted
// in place of ROOT is caught by this very check on ROOT.
Status check_entry(const struct stat &st, const std::string &path, bool sticky_ok)
{
	if (S_ISLNK(st.st_mode))
		return std::unexpected(refuse(path, "it is a symlink", "remove it (rm " + path + ") and run again"));
	if (st.st_uid != 0)
		return std::unexpected(refuse(path, "it is owned by uid " + std::to_string(st.st_uid) + ", not root",
					      "remove it (rm -r " + path + ") and run again"));
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(sticky_ok && (st.st_mode & S_ISVTX)))
		return std::unexpected(refuse(path, "it is writable by group or others (mode " + octal_mode(st.st_mode) + ")",
					      "make it root-only (chmod go-w " + path + ") and run again"));
	return {};
}

// Why openat(dir, name, kDirFlags) failed with ELOOP/ENOTDIR: a symlink or not a directory.
Error not_a_dir(int dir, const std::string &name, const std::string &path, bool ours)
{
	struct stat st {};
	if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return ours ? refuse(path, "it is a symlink", "remove it (rm " + path + ") and run again")
			    : refuse(path, "it is a symlink", "set XDPCTL_BPFFS to a path without symlinks");
	return refuse(path, "it is not a directory", "remove it (rm " + path + ") and run again");
}

// Opens ROOT, checking every directory on the way from the bpffs mount down (check_entry) and
// refusing a symlink anywhere in the path. With create, makes the missing levels (0700) once on
// a bpffs, each registered on made (rmdir on undo) when given. Without, an absent ROOT gives an
// empty Fd.
Result<Fd> open_root(const std::string &root, bool create, Txn *made = nullptr)
{
	Fd dir(open("/", kDirFlags));
	if (!dir)
		return fail(errno, "open", "/");
	bool on_bpffs = is_bpffs(dir.get());
	std::string path;
	auto comps = components(root);
	for (size_t i = 0; i < comps.size(); i++) {
		const std::string &c = comps[i];
		bool last = i + 1 == comps.size();
		std::string parent = path.empty() ? "/" : path;
		path += "/" + c;
		Fd next(openat(dir.get(), c.c_str(), kDirFlags));
		if (!next && errno == ENOENT) {
			if (!create) {
				// nothing of xdpctl can be below a missing directory: nothing is loaded
				if (on_bpffs || under(root, kBpffsMount))
					return Fd();
				return std::unexpected(not_bpffs(root, parent));
			}
			if (!on_bpffs)
				return std::unexpected(not_bpffs(root, parent));
			if (mkdirat(dir.get(), c.c_str(), 0700) == 0) {
				if (made)
					made->on_undo([path] { ::rmdir(path.c_str()); });
			} else if (errno != EEXIST) {
				return fail(errno, "mkdir", path);
			}
			next = Fd(openat(dir.get(), c.c_str(), kDirFlags));
		}
		if (!next) {
			if (errno == ELOOP || errno == ENOTDIR)
				return std::unexpected(not_a_dir(dir.get(), c, path, on_bpffs));
			return fail(errno, "open", path);
		}
		bool bpffs = is_bpffs(next.get());
		if (bpffs) {
			struct stat st {};
			if (fstat(next.get(), &st))
				return fail(errno, "stat", path);
			if (auto ok = check_entry(st, path, !last); !ok)
				return std::unexpected(ok.error());
		} else if (last) {
			return std::unexpected(not_bpffs(root, root));
		}
		on_bpffs = bpffs;
		dir = std::move(next);
	}
	if (!on_bpffs)
		return std::unexpected(not_bpffs(root, root));
	return dir;
}

// Checks ROOT/ns<NS>, its directories and the pins in them (check_entry, no sticky exception).
Status check_ns_tree(int root_fd, const Layout &l)
{
	// depth 0: the namespace directory; 1: if<IFINDEX>, maps, monitor; 2: pins
	std::function<Status(int, const std::string &, const std::string &, int)> walk =
	    [&](int parent, const std::string &name, const std::string &path, int depth) -> Status {
		struct stat st {};
		if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno == ENOENT)
				return {}; // removed meanwhile (by root: nobody else can here)
			return fail(errno, "stat", path);
		}
		if (auto ok = check_entry(st, path, false); !ok)
			return ok;
		if (!S_ISDIR(st.st_mode) || depth == 2)
			return {};
		Fd d(openat(parent, name.c_str(), kDirFlags));
		if (!d) {
			if (errno == ELOOP || errno == ENOTDIR)
				return std::unexpected(not_a_dir(parent, name, path, true));
			return fail(errno, "open", path);
		}
		struct stat again {};
		if (fstat(d.get(), &again) || again.st_ino != st.st_ino || again.st_dev != st.st_dev)
			return std::unexpected(refuse(path, "it changed while being checked", "run again"));
		int dupfd = fcntl(d.get(), F_DUPFD_CLOEXEC, 0);
		std::unique_ptr<DIR, int (*)(DIR *)> dp(dupfd >= 0 ? fdopendir(dupfd) : nullptr, closedir);
		if (!dp) {
			if (dupfd >= 0)
				::close(dupfd);
			return fail(errno, "opendir", path);
		}
		while (auto *e = readdir(dp.get())) {
			std::string n = e->d_name;
			if (n == "." || n == "..")
				continue;
			if (auto ok = walk(d.get(), n, path + "/" + n, depth + 1); !ok)
				return ok;
		}
		return {};
	};
	std::string ns = l.ns_dir();
	return walk(root_fd, ns.substr(ns.find_last_of('/') + 1), ns, 0);
}

} // namespace

bool path_exists(const std::string &path)
{
	struct stat st {};
	return lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string &dir)
{
	std::vector<std::string> out;
	DIR *d = opendir(dir.c_str());
	if (!d)
		return out;
	while (auto *e = readdir(d)) {
		std::string n = e->d_name;
		if (n != "." && n != "..")
			out.push_back(n);
	}
	closedir(d);
	return out;
}

Result<std::string> normalize_root(const std::string &path)
{
	if (path.empty() || path[0] != '/')
		return fail(EINVAL, "XDPCTL_BPFFS", path, "must be an absolute path");
	std::string out;
	for (const auto &c : components(path)) {
		if (c == ".")
			continue;
		if (c == "..")
			return fail(EINVAL, "XDPCTL_BPFFS", path, "must not contain '..'");
		out += "/" + c;
	}
	if (out.empty())
		return fail(EINVAL, "XDPCTL_BPFFS", path, "must be a directory below a bpffs mount, not /");
	return out;
}

Result<Layout> current_layout()
{
	const char *env = std::getenv("XDPCTL_BPFFS");
	auto root = normalize_root(env && *env ? env : kDefaultBpffsRoot);
	if (!root)
		return std::unexpected(root.error());
	Layout l;
	l.root = std::move(*root);
	// thread-self: a thread that entered another namespace (setns) sees that one
	struct stat st {};
	if (stat("/proc/thread-self/ns/net", &st))
		return fail(errno, "stat", "/proc/thread-self/ns/net");
	l.netns = st.st_ino;
	return l;
}

Status check_bpffs(const Layout &l)
{
	auto root = open_root(l.root, false);
	if (!root)
		return std::unexpected(root.error());
	if (!*root)
		return {};
	return check_ns_tree(root->get(), l);
}

Status ensure_bpffs(const Layout &l, Txn *made)
{
	if (under(l.root, kBpffsMount) && !is_bpffs(std::string(kBpffsMount))) {
		if (!mount_ns_shared())
			return fail(ENOTSUP, "bpffs", kBpffsMount,
				    "is not mounted in this mount namespace, which no other process shares (ip netns exec "
				    "gives its command one of its own): a bpffs mounted here would vanish with this command "
				    "and detach what it loads; run xdpctl under "
				    "`nsenter --net=/run/netns/NAME`, or set XDPCTL_BPFFS to a directory in a bpffs visible here");
		if (mount("bpf", kBpffsMount, "bpf", 0, "mode=0700"))
			return fail(errno, "mount bpffs", kBpffsMount,
				    "could not mount the BPF filesystem; mount it with `mount -t bpf bpf /sys/fs/bpf`");
	}
	auto root = open_root(l.root, true, made);
	if (!root)
		return std::unexpected(root.error());
	return check_ns_tree(root->get(), l);
}

namespace {

LockWait &lock_wait()
{
	static LockWait w;
	return w;
}

std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// "pid 1234 (xdpctl load xdp_pass a0)", and ", stopped (kill -CONT 1234 resumes it)" when the
// process is stopped; the command as /proc/PID/cmdline has it, cut at 120 characters.
std::string describe_pid(const std::string &pid)
{
	std::string out = "pid " + pid;
	std::string cmd = read_file("/proc/" + pid + "/cmdline");
	std::replace(cmd.begin(), cmd.end(), '\0', ' ');
	while (!cmd.empty() && cmd.back() == ' ')
		cmd.pop_back();
	if (cmd.size() > 120)
		cmd = cmd.substr(0, 117) + "...";
	if (!cmd.empty())
		out += " (" + cmd + ")";
	// /proc/PID/stat: "PID (COMM) STATE ...", COMM may hold anything: the state follows the last ')'
	std::string ps = read_file("/proc/" + pid + "/stat");
	size_t paren = ps.rfind(')');
	if (paren != std::string::npos && paren + 2 < ps.size() && (ps[paren + 2] == 'T' || ps[paren + 2] == 't'))
		out += ", stopped (kill -CONT " + pid + " resumes it)";
	return out;
}

// Who holds the flock on fd's file: the FLOCK line of /proc/locks on its device and inode that is
// not a waiter's ("N: -> FLOCK ..."). Its pid is the process that took the lock.
std::string lock_holder(int fd)
{
	struct stat st {};
	if (fstat(fd, &st))
		return "another process";
	char dev[64];
	std::snprintf(dev, sizeof(dev), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
		      static_cast<unsigned long>(st.st_ino));
	std::ifstream f("/proc/locks");
	std::string line;
	while (std::getline(f, line)) {
		std::istringstream in(line);
		std::string id, kind, advisory, mode, pid, where;
		in >> id >> kind;
		if (kind != "FLOCK")
			continue; // a waiter ("->"), or a POSIX/OFD lock
		in >> advisory >> mode >> pid >> where;
		if (where == dev && !pid.empty() && pid != "0" && pid != "-1")
			return describe_pid(pid);
	}
	return "another process";
}

std::string seconds(double s)
{
	char b[32];
	std::snprintf(b, sizeof(b), "%g", s);
	return std::string(b) + " s";
}

// flock(LOCK_EX) on fd, which another process holds now, waited for as set_lock_wait says.
Status wait_for_lock(int fd, const std::string &root)
{
	const LockWait &w = lock_wait();
	using clock = std::chrono::steady_clock;
	const auto start = clock::now();
	double notice_s = kLockNoticeAfter;
	if (w.timeout_s)
		notice_s = std::min(notice_s, *w.timeout_s / 2);
	const auto notice_at = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(notice_s));
	auto notify = [&] {
		if (w.notice)
			w.notice(LockWaitNotice{root, lock_holder(fd), w.timeout_s});
	};
	if (!w.timeout_s) {
		// blocked in the kernel's queue (waiters served in turn); a watcher says who holds it
		// once the wait grows long
		std::mutex mu;
		std::condition_variable cv;
		bool done = false;
		std::thread watcher;
		if (w.notice)
			watcher = std::thread([&] {
				std::unique_lock lk(mu);
				if (!cv.wait_until(lk, notice_at, [&] { return done; }))
					notify();
			});
		int rc;
		while ((rc = flock(fd, LOCK_EX)) && errno == EINTR) {
		}
		int err = errno;
		{
			std::lock_guard lk(mu);
			done = true;
		}
		cv.notify_one();
		if (watcher.joinable())
			watcher.join();
		if (rc)
			return fail(err, "flock", root);
		return {};
	}
	const auto deadline = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(*w.timeout_s));
	bool noticed = false;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return {};
		if (errno != EWOULDBLOCK && errno != EINTR)
			return fail(errno, "flock", root);
		auto now = clock::now();
		if (now >= deadline) {
			// the notice comes before the give-up line even when a slow machine overslept
			// its moment (a timeout of 0 gives up at once, without one)
			if (!noticed && *w.timeout_s > 0)
				notify();
			return fail(ETIMEDOUT, "lock", root,
				    "still held by " + lock_holder(fd) + ", after " + seconds(*w.timeout_s) +
					    ": gave up, nothing was changed");
		}
		if (!noticed && now >= notice_at) {
			notify();
			noticed = true;
		}
		std::this_thread::sleep_for(std::min<clock::duration>(std::chrono::milliseconds(10), deadline - now));
	}
}

} // namespace

void set_lock_wait(LockWait w)
{
	lock_wait() = std::move(w);
}

Result<RootLock> RootLock::acquire(const Layout &l)
{
	Fd fd(open(l.root.c_str(), kDirFlags));
	if (!fd)
		return fail(errno, "open", l.root);
	if (flock(fd.get(), LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return fail(errno, "flock", l.root);
		if (auto st = wait_for_lock(fd.get(), l.root); !st)
			return std::unexpected(st.error());
	}
	// A command that failed removes the ROOT it created (under this lock): one that waited for
	// the lock meanwhile holds a directory that is gone, where nothing can be pinned.
	struct stat locked {}, now {};
	if (fstat(fd.get(), &locked))
		return fail(errno, "stat", l.root);
	if (stat(l.root.c_str(), &now) || now.st_ino != locked.st_ino || now.st_dev != locked.st_dev)
		return fail(EAGAIN, "lock", l.root, "removed meanwhile by a concurrent xdpctl command that failed; run again");
	return RootLock(std::move(fd));
}

Txn::~Txn()
{
	for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
		(*it)();
}

void Txn::take(Txn &earlier)
{
	undo_.insert(undo_.begin(), std::make_move_iterator(earlier.undo_.begin()), std::make_move_iterator(earlier.undo_.end()));
	earlier.undo_.clear();
}

Status Txn::mkdir(const std::string &dir)
{
	if (::mkdir(dir.c_str(), 0700) == 0) {
		on_undo([dir] { ::rmdir(dir.c_str()); });
		return {};
	}
	if (errno == EEXIST)
		return {};
	return fail(errno, "mkdir", dir);
}

Status Txn::pin(int fd, const std::string &path)
{
	if (int err = bpf_obj_pin(fd, path.c_str()); err)
		return fail(errno, "pin", path);
	on_undo([path] { ::unlink(path.c_str()); });
	return {};
}

} // namespace xdpctl
