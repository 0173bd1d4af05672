#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include "xdpctl/ctl_pins.hpp"

namespace xdpctl::ctl {

std::string bpffs_root()
{
	const char *env = std::getenv("XDPCTL_BPFFS");
	return env && *env ? env : "/sys/fs/bpf/xdpctl";
}

Result<uint64_t> netns_inode()
{
	// thread-self: a thread that entered another namespace (setns) sees that one
	struct stat st {};
	if (stat("/proc/thread-self/ns/net", &st) != 0)
		return fail(errno, "stat", "/proc/thread-self/ns/net");
	return static_cast<uint64_t>(st.st_ino);
}

Result<std::string> bpffs_ns_dir()
{
	auto ino = netns_inode();
	if (!ino)
		return std::unexpected(ino.error());
	return bpffs_root() + "/ns" + std::to_string(*ino);
}

} // namespace xdpctl::ctl
