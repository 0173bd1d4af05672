// Where the loader pins what it makes, and the lock that serializes loaders. The layout is the
// contract of BRIEF.md (ROOT = /sys/fs/bpf/xdpctl or $XDPCTL_BPFFS, NS = the inode of the calling
// thread's network namespace):
//
//   ROOT/ns<NS>/if<IFINDEX>/link          the XDP bpf_link of that interface
//   ROOT/ns<NS>/if<IFINDEX>/<MAP>         that interface's own maps (xdpctl_stats, ...)
//   ROOT/ns<NS>/maps/<MAP>                maps shared by every interface of the namespace
//   ROOT/ns<NS>/monitor/<MAP>             the tracepoint monitor's maps
//   ROOT/ns<NS>/state                     the namespace's desired state (state.hpp)
//   ROOT/ns<NS>/moved<LINK_ID>/           an if<IFINDEX> directory whose device moved to another
//                                         namespace with its link (kept: unpinning would detach it)
//
// This header is the one owner of that layout: every part of libxdpctl (loader, monitor, the
// control map's user-space backend) works ROOT and NS out through current_layout().
//
// Ownership rule. Whoever can write a directory of that tree can rename root's pins away or
// plant their own, and /sys/fs/bpf is often world-writable (mode 1777). So ROOT, the namespace
// directory, its directories and pins, and every directory between the bpffs mount and ROOT
// must be owned by root and writable by no one else (a sticky mount point or parent, as
// /sys/fs/bpf, is fine), must not be symlinks, and must be on a bpffs; check_bpffs and
// ensure_bpffs refuse anything else with one line saying what is wrong and how to fix it. What
// xdpctl creates is root-only: directories 0700 (no group needs them: a pin readable by a group
// would hand that group the map or link behind it), pins 0600 (the kernel's default).
// Directories are opened one by one from / with O_NOFOLLOW and checked on the opened fd (owner,
// mode, statfs f_type). Once they pass, nobody but root can change them, so the paths built
// from the Layout afterwards name what was checked.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"
#include "xdpctl/fd.hpp"

namespace xdpctl {

inline constexpr const char *kDefaultBpffsRoot = "/sys/fs/bpf/xdpctl";
inline constexpr const char *kBpffsMount = "/sys/fs/bpf";

struct Layout {
	std::string root;   // ROOT
	uint64_t netns = 0; // NS

	[[nodiscard]] std::string ns_dir() const { return root + "/ns" + std::to_string(netns); }
	[[nodiscard]] std::string if_dir(int ifindex) const
	{
		return ns_dir() + "/if" + std::to_string(ifindex);
	}
	[[nodiscard]] std::string link_pin(int ifindex) const { return if_dir(ifindex) + "/link"; }
	[[nodiscard]] std::string if_map_pin(int ifindex, const std::string &map) const
	{
		return if_dir(ifindex) + "/" + map;
	}
	[[nodiscard]] std::string maps_dir() const { return ns_dir() + "/maps"; }
	[[nodiscard]] std::string map_pin(const std::string &map) const { return maps_dir() + "/" + map; }
	[[nodiscard]] std::string monitor_dir() const { return ns_dir() + "/monitor"; }
};

// ROOT as given (an absolute path), normalised: repeated and trailing slashes and "." dropped;
// "..", a relative path and "/" refused (error op "XDPCTL_BPFFS").
[[nodiscard]] Result<std::string> normalize_root(const std::string &path);

// The layout for the calling thread: ROOT from $XDPCTL_BPFFS (default kDefaultBpffsRoot),
// normalised; NS from /proc/thread-self/ns/net. Touches nothing.
[[nodiscard]] Result<Layout> current_layout();

// For every call that reads or changes xdpctl's state: checks ROOT, the directories from the
// bpffs mount down to it and the whole ROOT/ns<NS> tree against the ownership rule above
// (error op "refusing", EPERM; a ROOT not on a bpffs: op "bpffs", ENOTSUP). Creates nothing; an
// absent ROOT or namespace directory is fine (nothing is loaded).
[[nodiscard]] Status check_bpffs(const Layout &l);

class Txn;

// For calls that create state, after their privilege check: mounts bpffs at /sys/fs/bpf when
// ROOT lies under it and nothing is mounted there (error op "mount bpffs"), refuses a ROOT that
// is not on a bpffs (error op "bpffs", nothing created), creates the missing levels of ROOT
// (0700), then checks as check_bpffs does. Each level it creates is registered on made (rmdir on
// undo) when given: a command that fails leaves no ROOT behind (a failed command leaves nothing).
[[nodiscard]] Status ensure_bpffs(const Layout &l, Txn *made = nullptr);

// An exclusive flock on ROOT: every loader that changes pins, links or shared maps holds it, so
// two loaders racing for one interface are serialized (the second sees the first's program).
// Refused (EAGAIN, op "lock") when ROOT was removed while waiting: by a command that created it,
// failed and took it back (ensure_bpffs with made). How long it waits: set_lock_wait below.
class RootLock {
public:
	[[nodiscard]] static Result<RootLock> acquire(const Layout &l);

private:
	explicit RootLock(Fd fd) : fd_(std::move(fd)) {}
	Fd fd_;
};

// How RootLock::acquire waits when another process holds the lock. By default it waits for ever,
// silently (as flock(1) and apt do). notice, when set, is called once when the wait grows long
// (kLockNoticeAfter, or half the timeout when that is shorter), from another thread while the
// caller blocks, with who holds the lock: "pid 1234 (xdpctl load xdp_pass a0)", with ", stopped
// (kill -CONT 1234 resumes it)" when it is stopped (SIGSTOP, Ctrl-Z), found in /proc/locks;
// "another process" when /proc does not say. With a timeout, acquire gives up after it: ETIMEDOUT,
// op "lock", the holder in the detail; nothing was changed (a caller takes the lock before it
// changes anything). Not thread-safe: set it before the first acquire.
inline constexpr double kLockNoticeAfter = 1.0; // seconds
struct LockWaitNotice {
	std::string root;                 // the directory locked
	std::string holder;               // who holds it (above)
	std::optional<double> timeout_s;  // the timeout set, if any
};
struct LockWait {
	std::optional<double> timeout_s; // nullopt: wait for ever; 0: give up at once when held
	std::function<void(const LockWaitNotice &)> notice;
};
void set_lock_wait(LockWait w);

// True when path exists (any kind of entry).
[[nodiscard]] bool path_exists(const std::string &path);
// Names of the entries of a directory (no "." / ".."); empty when it does not exist.
[[nodiscard]] std::vector<std::string> list_dir(const std::string &dir);

// Undo log for all-or-nothing operations: every step that creates something registers how to
// take it back; unless commit() is called, the destructor runs the undo steps in reverse.
class Txn {
public:
	Txn() = default;
	Txn(const Txn &) = delete;
	Txn &operator=(const Txn &) = delete;
	~Txn();

	void on_undo(std::function<void()> f) { undo_.push_back(std::move(f)); }
	// mkdir (0700) that registers rmdir; an existing directory is fine and is left alone on undo.
	[[nodiscard]] Status mkdir(const std::string &dir);
	// bpf_obj_pin that registers unlink.
	[[nodiscard]] Status pin(int fd, const std::string &path);
	void commit() { undo_.clear(); }
	// Takes over the undo steps of a Txn begun earlier: they run after this one's own, as if they
	// had been registered here first (a command's undo then runs under the lock it takes later).
	void take(Txn &earlier);

private:
	std::vector<std::function<void()>> undo_;
};

} // namespace xdpctl
