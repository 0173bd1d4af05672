#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cstdlib>

#include "xdpctl/bpffs.hpp"

namespace xdpctl {

namespace {

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

std::string nearest_existing(std::string p)
{
	while (!p.empty() && !path_exists(p)) {
		auto slash = p.find_last_of('/');
		p = slash == 0 ? "/" : (slash == std::string::npos ? "." : p.substr(0, slash));
	}
	return p;
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

Result<Layout> current_layout()
{
	Layout l;
	const char *env = std::getenv("XDPCTL_BPFFS");
	l.root = env && *env ? env : kDefaultBpffsRoot;
	while (l.root.size() > 1 && l.root.back() == '/')
		l.root.pop_back();
	struct stat st {};
	if (stat("/proc/thread-self/ns/net", &st))
		return fail(errno, "stat", "/proc/thread-self/ns/net");
	l.netns = st.st_ino;
	return l;
}

Status ensure_bpffs(const Layout &l)
{
	if (under(l.root, kBpffsMount) && !is_bpffs(kBpffsMount)) {
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
	std::string base = nearest_existing(l.root);
	if (!is_bpffs(base))
		return fail(ENOTSUP, "bpffs", l.root,
			    base + " is not on a BPF filesystem; mount one (`mount -t bpf bpf DIR`) or set XDPCTL_BPFFS to a directory inside one");
	// create the missing levels below the existing bpffs directory
	for (size_t pos = base.size() + 1; pos <= l.root.size(); pos++) {
		if (pos == l.root.size() || l.root[pos] == '/') {
			std::string dir = l.root.substr(0, pos);
			if (mkdir(dir.c_str(), 0700) && errno != EEXIST)
				return fail(errno, "mkdir", dir);
		}
	}
	return {};
}

Result<RootLock> RootLock::acquire(const Layout &l)
{
	Fd fd(open(l.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!fd)
		return fail(errno, "open", l.root);
	while (flock(fd.get(), LOCK_EX)) {
		if (errno != EINTR)
			return fail(errno, "flock", l.root);
	}
	return RootLock(std::move(fd));
}

Txn::~Txn()
{
	for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
		(*it)();
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
