// The real xdpctl binary, run as a user runs it: exit codes, one-line errors, JSON, and nothing
// left pinned after a refused command. Every run gets a private bpffs (XDPCTL_BPFFS).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <bpf/bpf.h>

#include "bpffs_dir.hpp"
#include "cli_help.hpp"
#include "cli_json.hpp"
#include "kernel.hpp"
#include "spawn.hpp"
#include "xdp_attach.hpp"
#include "xdpctl_fixture.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/fd.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/state.hpp"
#include "xdpctl/status.hpp"

using namespace xt;

namespace {
const std::string kBin = XDPCTL_BIN;
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;

size_t lines(const std::string &s)
{
	return std::count(s.begin(), s.end(), '\n');
}

// What xdpctl left in the private bpffs besides ROOT itself.
std::vector<std::string> leftovers(const BpffsDir &fs)
{
	return tree(fs.root());
}
} // namespace

// Every verb and every subcommand, found by walking `--help` from the top (nothing listed by
// hand, so a new verb is covered when it is added): its --help exits 0 and documents -j/--json
// and -v/--verbose, and it accepts both: `xdpctl CMD -j -v --xdpctl-no-such-option` is refused
// for the unknown option alone (or for a missing argument CMD needs), one line on stderr, the
// same as one JSON line on stdout (which only a CMD that took -j prints), nothing done.
TEST(Cli, EveryVerbAndSubcommandHasHelpJsonAndVerbose)
{
	std::vector<std::string> todo = {""}, seen;
	while (!todo.empty()) {
		std::string cmd = todo.front();
		todo.erase(todo.begin());
		seen.push_back(cmd);
		SCOPED_TRACE("xdpctl " + cmd);
		auto h = run_cmd(kBin + " " + cmd + " --help");
		EXPECT_EQ(h.rc, 0) << "--help exits 0: " << h.err;
		EXPECT_TRUE(h.err.empty()) << "nothing on stderr: " << h.err;
		EXPECT_NE(h.out.find("Usage:"), std::string::npos) << "usage printed: " << h.out;
		EXPECT_NE(h.out.find("  -j,--json "), std::string::npos) << "documents -j,--json: " << h.out;
		EXPECT_NE(h.out.find("  -v,--verbose "), std::string::npos) << "documents -v,--verbose: " << h.out;
		for (const auto &sub : subcommands_in(h.out))
			todo.push_back(cmd.empty() ? sub : cmd + " " + sub);

		BpffsDir fs;
		ASSERT_TRUE(fs.ok()) << "private bpffs";
		auto r = run_cmd(kBin + " " + cmd + " -j -v --xdpctl-no-such-option", "XDPCTL_BPFFS=" + fs.root());
		EXPECT_EQ(r.rc, 2) << "usage error: " << r.err;
		EXPECT_EQ(lines(r.err), 1u) << "one line: " << r.err;
		auto unexpected = r.err.find("not expected: ");
		if (unexpected != std::string::npos) {
			std::string args = r.err.substr(unexpected + 14);
			args = args.substr(0, args.find(';'));
			EXPECT_EQ(args, "--xdpctl-no-such-option") << "-j and -v taken, only the unknown option refused: " << r.err;
		} else {
			EXPECT_NE(r.err.find("required"), std::string::npos) << "refused for what it needs: " << r.err;
		}
		expect_json_error(r.out, 2, "");
		EXPECT_TRUE(leftovers(fs).empty()) << "nothing pinned";
	}
	auto has = [&](const std::string &c) { return std::find(seen.begin(), seen.end(), c) != seen.end(); };
	for (const char *known : {"load", "unload", "status", "redirect add", "redirect del", "broadcast add",
				  "broadcast del", "multicast add", "multicast del", "multicast mac add", "multicast mac del",
				  "ctl stats", "ctl attr", "ctl setup-redirect", "ctl md", "ctl setup-md", "stats", "features",
				  "demo", "monitor start", "monitor show", "monitor stop", "repair"})
		EXPECT_TRUE(has(known)) << known << " found by walking --help";
}

TEST(Cli, ListIsJsonWithTheCollection)
{
	auto r = run_cmd(kBin + " load --list -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto j = nlohmann::json::parse(r.out);
	ASSERT_TRUE(j.is_array()) << r.out;
	bool pass = false;
	for (const auto &e : j)
		pass |= e.at("name") == "xdp_pass" && e.at("prog") == "xdp_pass_prog" && e.at("kind") == "xdp";
	EXPECT_TRUE(pass) << "xdp_pass listed: " << r.out;
}

struct BadRow {
	const char *what;
	std::string args;
	int rc;
	const char *says; // substring of the one line on stderr
	bool private_bpffs = true;
};

// Inputs refused before any netlink request (they hold on a machine whose rtnl is busy, too).
TEST(Cli, BadInputsFailWithOneLineAndLeaveNothing)
{
	std::string txt = "/tmp/xdpctl-cli-notbpf-" + std::to_string(getpid());
	std::ofstream(txt) << "not an object\n";
	char plain[] = "/tmp/xdpctl-plain-XXXXXX";
	ASSERT_NE(mkdtemp(plain), nullptr);
	std::vector<BadRow> rows = {
		{"unknown program", "load no_such_prog lo", 2, "unknown program 'no_such_prog'"},
		{"program without interface", "load xdp_pass", 2, "give a PROGRAM and at least one IFNAME"},
		{"unknown interface", "load xdp_pass nosuchif0", 1, "nosuchif0: not found in this network namespace"},
		{"not an object file", "load " + txt + " lo", 1, "not a BPF object file"},
		{"object without XDP program", "load " + kObjDir + "/loader_tc_only.bpf.o lo", 1, "has no XDP"},
		{"missing object file", "load /nonexistent/prog.bpf.o lo", 1, "No such file"},
		{"bad mode", "load -m turbo xdp_pass lo", 2, "--mode"},
		{"unknown flag", "load --frobnicate xdp_pass lo", 2, "frobnicate"},
		{"unload without target", "unload", 2, "give IFNAME... or --all"},
		{"unload unknown interface", "unload nosuchif0", 1, "not found in this network namespace"},
		{"redirect with nothing loaded", "redirect add lo lo", 1, "nothing loaded in this namespace"},
		{"redirect with unknown egress", "redirect add lo lo --egress nope", 2, "unknown egress program"},
		{"redirect with interface program as egress", "redirect add lo lo --egress xdp_pass", 2,
		 "not a devmap egress program"},
		{"egress action without egress program", "redirect add lo lo --egress-mac", 2,
		 "--egress-mac is an action of the egress program"},
		{"broadcast with nothing loaded", "broadcast add lo", 1, "nothing loaded in this namespace"},
		// a name twice: the usage error of every verb that takes interfaces, before any lookup
		{"load, interface twice", "load xdp_pass lo lo", 2, "interface 'lo' given twice: name each interface once"},
		{"unload, interface twice", "unload lo nosuchif0 lo", 2,
		 "interface 'lo' given twice: name each interface once"},
		{"redirect del, interface twice", "redirect del lo lo", 2,
		 "interface 'lo' given twice: name each interface once"},
		{"broadcast add, interface twice", "broadcast add lo lo", 2,
		 "interface 'lo' given twice: name each interface once"},
		{"broadcast del, interface twice", "broadcast del lo lo", 2,
		 "interface 'lo' given twice: name each interface once"},
		{"multicast add, interface twice", "multicast add 1 lo lo", 2,
		 "interface 'lo' given twice: name each interface once"},
		{"multicast del, interface twice", "multicast del 1 lo lo", 2,
		 "interface 'lo' given twice: name each interface once"},
		{"stats, interface twice", "stats lo lo -c 1", 2, "interface 'lo' given twice: name each interface once"},
		// -p/--egress-prog pick a program of an object file; a collection name is one already
		{"-p with a collection name", "load -p nosuch xdp_pass lo", 2,
		 "-p/--prog picks a program of an object file; 'xdp_pass' names one program of the "
		 "collection: drop -p (variants: xdpctl load --list)"},
		{"--egress-prog with a collection name", "redirect add lo lo --egress xdp_egress --egress-prog nosuch", 2,
		 "--egress-prog picks a program of an object file; 'xdp_egress' names one program of the collection"},
		{"no verb", "", 2, "subcommand is required"},
		{"bpffs not mounted", "load xdp_pass nosuchif0", 1, "is not on a BPF filesystem", false},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		BpffsDir fs;
		ASSERT_TRUE(fs.ok()) << "private bpffs";
		auto fresh = tree(fs.mount_point()); // what a new bpffs holds (progs.debug, maps.debug)
		std::string env = r.private_bpffs ? "XDPCTL_BPFFS=" + fs.root() : std::string("XDPCTL_BPFFS=") + plain + "/x";
		auto res = run_cmd(kBin + " " + r.args, env);
		EXPECT_EQ(res.rc, r.rc) << "exit code; stderr: " << res.err;
		EXPECT_EQ(lines(res.err), 1u) << "one line: " << res.err;
		EXPECT_NE(res.err.find(r.says), std::string::npos) << "says why: " << res.err;
		EXPECT_TRUE(res.out.empty()) << "nothing on stdout: " << res.out;
		EXPECT_EQ(tree(fs.mount_point()), fresh) << "nothing pinned or created, ROOT neither";
		EXPECT_TRUE(tree(plain).empty()) << "nothing created outside bpffs";

		auto js = run_cmd(kBin + " -j " + r.args, env);
		EXPECT_EQ(js.rc, r.rc) << "same exit code with -j";
		EXPECT_EQ(js.err, res.err) << "the same one line on stderr with -j";
		expect_json_error(js.out, r.rc, r.says);
		EXPECT_EQ(tree(fs.mount_point()), fresh) << "nothing pinned or created with -j";
	}
	unlink(txt.c_str());
	rmdir(plain);
}

// A load that fails in a fresh bpffs (ROOT and the levels above it missing) takes back every
// directory it made: the bpffs is as empty after it as before.
TEST(Cli, FailedLoadTakesBackTheRootLevelsItCreated)
{
	BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs";
	auto fresh = tree(fs.mount_point()); // what a new bpffs holds (progs.debug, maps.debug)
	for (const std::string &root : {fs.root(), fs.mount_point() + "/x/y/z"}) {
		SCOPED_TRACE(root);
		auto r = run_cmd(kBin + " load xdp_pass nosuchif0", "XDPCTL_BPFFS=" + root);
		EXPECT_EQ(r.rc, 1) << r.err;
		EXPECT_EQ(r.err, "xdpctl load: interface nosuchif0: not found in this network namespace (see `ip link`) "
				 "(No such device)\n")
			<< "the one line";
		EXPECT_TRUE(r.out.empty()) << r.out;
		EXPECT_EQ(tree(fs.mount_point()), fresh) << "no directory left in the bpffs";
	}
}

// Output that cannot be written (a full disk: /dev/full) fails the command, exit 1, with one
// line on stderr as coreutils say it, whatever the verb and however much it printed (a small
// table stays in stdio's buffer until exit; the completion script overflows it while printing).
TEST(Cli, OutputThatCannotBeWrittenIsExitOneWithOneLine)
{
	BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs";
	auto fresh = tree(fs.mount_point());
	for (const char *args : {"status", "status -j", "load --list", "load --list -j", "--help", "load --help", "--version",
				 "--generate-completion"}) {
		SCOPED_TRACE(args);
		auto ok = run_cmd(kBin + " " + args, "XDPCTL_BPFFS=" + fs.root());
		ASSERT_EQ(ok.rc, 0) << "to a file it works: " << ok.err;
		ASSERT_FALSE(ok.out.empty()) << "it prints something";
		// the shell's own redirections come after the command's: a group keeps /dev/full for it
		auto full = run_cmd("{ XDPCTL_BPFFS=" + fs.root() + " " + kBin + " " + args + " >/dev/full; }");
		EXPECT_EQ(full.rc, 1) << full.err;
		EXPECT_EQ(full.err, "xdpctl: write error: No space left on device\n") << "one line";
		EXPECT_TRUE(full.out.empty()) << full.out;
		EXPECT_EQ(tree(fs.mount_point()), fresh) << "nothing created";
	}
}

class CliForeign : public XdpctlNetnsTest {};

// A program xdpctl did not attach: the hint of load and unload says how to remove it, and the hint
// works. One held by a bpf_link (here the test's own, as another tool holds one) cannot be removed
// with `ip link set dev X xdp off` (the kernel refuses: "Can't replace active BPF XDP link"): the
// line names the link and `bpftool link detach id N` (BPF_LINK_DETACH, done here through libbpf).
// One attached through netlink gets the `ip link set dev X xdp... off` of its mode, which removes it.
TEST_F(CliForeign, TheRemovalHintFitsHowTheProgramIsAttached)
{
	auto v = add_veth("fl0", "fl1");
	auto link = attach_xdp_pass(v.ifindex);
	ASSERT_TRUE(link) << link.error().message();
	bpf_link_info li{};
	uint32_t len = sizeof(li);
	ASSERT_EQ(bpf_obj_get_info_by_fd(link->fd(), &li, &len), 0) << "link info";
	const std::string id = std::to_string(li.id), prog = std::to_string(li.prog_id);
	const auto pins = tree(fs_->root());

	auto r = xdpctl("load xdp_pass fl0");
	EXPECT_EQ(r.rc, 1) << r.err;
	EXPECT_EQ(r.err, "xdpctl load: load fl0: already has XDP program xdp_pass_prog (id " + prog +
			     ") not loaded by xdpctl; it is attached through bpf_link id " + id +
			     ", which `ip link set dev fl0 xdp off` cannot remove: remove it first with the tool that attached "
			     "it, or detach the link (bpftool link detach id " + id + ") (File exists)\n");
	r = xdpctl("unload fl0");
	EXPECT_EQ(r.rc, 1) << r.err;
	EXPECT_EQ(r.err, "xdpctl unload: unload fl0: its XDP program xdp_pass_prog was not loaded by xdpctl in this "
			 "namespace; it is attached through bpf_link id " + id +
			     ", which `ip link set dev fl0 xdp off` cannot remove: remove it with the tool that attached it, "
			     "or detach the link (bpftool link detach id " + id + ") (No such file or directory)\n");
	EXPECT_EQ(tree(fs_->root()), pins) << "nothing pinned or removed";

	// what the line says: ip cannot remove it, detaching the link does
	EXPECT_NE(sh(ns().exec() + "ip link set dev fl0 xdp off 2>/dev/null"), 0) << "the kernel refuses ip for a link";
	auto att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att);
	EXPECT_EQ(att->prog_id, li.prog_id) << "still attached after ip";
	ASSERT_EQ(bpf_link_detach(link->fd()), 0) << "BPF_LINK_DETACH, what bpftool link detach does";
	att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att);
	EXPECT_EQ(att->prog_id, 0u) << "detached";

	// through netlink: the ip hint in the program's mode (a plain `xdp off` leaves a generic one), which works
	ASSERT_TRUE(must(ns().exec() + "ip link set dev fl0 xdpgeneric obj " + kObjDir + "/xdp_pass.bpf.o sec xdp"));
	att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att);
	ASSERT_NE(att->prog_id, 0u) << "attached through netlink";
	const std::string nl = std::to_string(att->prog_id);
	r = xdpctl("load xdp_pass fl0");
	EXPECT_EQ(r.rc, 1) << r.err;
	EXPECT_EQ(r.err, "xdpctl load: load fl0: already has XDP program xdp_pass_prog (id " + nl +
			     ") not loaded by xdpctl; remove it first (ip link set dev fl0 xdpgeneric off) (File exists)\n");
	r = xdpctl("unload fl0");
	EXPECT_EQ(r.rc, 1) << r.err;
	EXPECT_EQ(r.err, "xdpctl unload: unload fl0: its XDP program xdp_pass_prog was not loaded by xdpctl in this "
			 "namespace; remove it with `ip link set dev fl0 xdpgeneric off` (No such file or directory)\n");
	EXPECT_EQ(sh(ns().exec() + "ip link set dev fl0 xdp off"), 0) << "a plain xdp off says nothing...";
	att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att);
	EXPECT_NE(att->prog_id, 0u) << "...and leaves the generic program attached";
	EXPECT_EQ(sh(ns().exec() + "ip link set dev fl0 xdpgeneric off"), 0) << "the hint works";
	att = xdpctl::xdp_attachment(v.ifindex);
	ASSERT_TRUE(att);
	EXPECT_EQ(att->prog_id, 0u) << "removed";
	EXPECT_EQ(tree(fs_->root()), pins) << "nothing pinned or removed";
}

// A command that waits for the lock another process holds, here `sleep 60` that took it (flock on
// ROOT, then exec) and is stopped as a Ctrl-Z'd xdpctl would be: after a short wait the command
// says who holds it, one line on stderr; --lock-timeout
// gives up with one more line, exit 1, nothing changed; without it the command waits and goes on
// once the holder is gone (14-16). A bad --lock-timeout is a usage error.
TEST(Cli, AWaitForTheLockNamesTheHolderAndLockTimeoutGivesUp)
{
	BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs";
	const std::string root = fs.root();
	ASSERT_EQ(mkdir(root.c_str(), 0700), 0) << "ROOT";
	const std::string env = "XDPCTL_BPFFS=" + root;
	pid_t holder = fork();
	ASSERT_GE(holder, 0) << "fork";
	if (holder == 0) {
		// the lock stays with the open directory across exec: /proc/locks names this pid
		int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
		if (fd < 0 || flock(fd, LOCK_EX))
			_exit(126);
		execlp("sleep", "sleep", "60", static_cast<char *>(nullptr));
		_exit(127);
	}
	struct Reap {
		pid_t pid;
		~Reap()
		{
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
	} reap{holder};
	const std::string pid = std::to_string(holder);
	// a FLOCK line of /proc/locks on ROOT: held by pid, or (waiting) a waiter's "->" line
	struct stat rst {};
	ASSERT_EQ(stat(root.c_str(), &rst), 0);
	char dev[64];
	std::snprintf(dev, sizeof(dev), " %02x:%02x:%lu ", major(rst.st_dev), minor(rst.st_dev),
		      static_cast<unsigned long>(rst.st_ino));
	auto lock_line = [&](bool waiting) {
		std::ifstream f("/proc/locks");
		std::string line;
		while (std::getline(f, line))
			if (line.find(" FLOCK ") != std::string::npos && line.find(dev) != std::string::npos &&
			    (line.find("->") != std::string::npos) == waiting &&
			    (waiting || line.find(" " + pid + " ") != std::string::npos))
				return true;
		return false;
	};
	auto cmdline = [&] {
		std::ifstream f("/proc/" + pid + "/cmdline");
		return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
	};
	for (int i = 0; i < 1000 && !(lock_line(false) && cmdline() == std::string("sleep\0" "60\0", 9)); i++)
		usleep(10 * 1000);
	ASSERT_TRUE(lock_line(false)) << "the child holds ROOT";
	ASSERT_EQ(cmdline(), std::string("sleep\0" "60\0", 9)) << "and runs sleep 60";
	ASSERT_EQ(kill(holder, SIGSTOP), 0);
	int wst = 0;
	ASSERT_EQ(waitpid(holder, &wst, WUNTRACED), holder);
	ASSERT_TRUE(WIFSTOPPED(wst)) << "stopped";
	const auto before = tree(fs.mount_point());
	const std::string who = "pid " + pid + " (sleep 60), stopped (kill -CONT " + pid + " resumes it)";

	auto t0 = std::chrono::steady_clock::now();
	auto r = run_cmd(kBin + " --lock-timeout 1 monitor start", env);
	double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	EXPECT_EQ(r.rc, 1) << r.err;
	EXPECT_EQ(r.err, "xdpctl: waiting for the lock on " + root + ", held by " + who + " (giving up after 1 s)\n"
			 "xdpctl monitor: lock " + root + ": still held by " + who +
			     ", after 1 s: gave up, nothing was changed (Connection timed out)\n");
	EXPECT_TRUE(r.out.empty()) << r.out;
	EXPECT_GE(took, 1.0) << "waited the timeout";
	EXPECT_LT(took, 30.0) << "and gave up";
	EXPECT_EQ(tree(fs.mount_point()), before) << "nothing changed";
	auto js = run_cmd(kBin + " --lock-timeout 1 -j monitor start", env);
	EXPECT_EQ(js.rc, 1);
	EXPECT_EQ(js.err, r.err) << "the same lines with -j";
	expect_json_error(js.out, 1, "gave up, nothing was changed");

	auto bad = run_cmd(kBin + " --lock-timeout soon monitor start", env);
	EXPECT_EQ(bad.rc, 2) << bad.err;
	EXPECT_EQ(lines(bad.err), 1u) << bad.err;
	EXPECT_NE(bad.err.find("--lock-timeout"), std::string::npos) << "names the option: " << bad.err;
	EXPECT_EQ(bad.err.find("verb"), std::string::npos) << "not taken for a missing verb: " << bad.err;

	// no timeout: it waits, says so once, and goes on when the holder is gone
	Spawned stop(kBin + " monitor stop", env);
	for (int i = 0; i < 3000 && !lock_line(true); i++)
		usleep(10 * 1000);
	EXPECT_TRUE(lock_line(true)) << "monitor stop waits in flock";
	// the notice comes after 1 s of waiting; the holder is let go once it came (a fixed sleep
	// could let it go first on a slow guest, and the notice would never come)
	const std::string notice = "xdpctl: waiting for the lock on " + root + ", held by " + who +
				   " (xdpctl --lock-timeout SECONDS gives up instead)\n";
	for (int i = 0; i < 3000 && stop.err_so_far() != notice; i++)
		usleep(10 * 1000);
	kill(holder, SIGKILL);
	std::string out, err;
	EXPECT_EQ(stop.finish(&out, &err), 0) << err;
	EXPECT_EQ(out, "monitor not running: nothing to stop\n");
	EXPECT_EQ(err, notice) << "the notice, once";
	EXPECT_EQ(tree(fs.mount_point()), before) << "nothing changed";
}

class CliCorruptState : public XdpctlNetnsTest {};

// A corrupt state record (ROOT/ns<NS>/state) blocks every verb that changes something: each says
// what is wrong and the way out, exit 1, nothing changed; `repair --reset-state` rebuilds the
// record from what the kernel shows (links, redirect rules), after which every verb works (14-17).
TEST_F(CliCorruptState, EveryVerbSaysHowToRecoverAndResetStateRebuildsTheRecord)
{
	auto a = add_veth("rs0", "rs1");
	ASSERT_EQ(xdpctl("load xdp_redirect rs0 rs1").rc, 0);
	ASSERT_EQ(xdpctl("redirect add rs0 rs1").rc, 0);
	auto l = xdpctl::current_layout();
	ASSERT_TRUE(l);
	const std::string pin = l->ns_dir() + "/" + xdpctl::kStatePin;
	auto progs = [&] {
		auto x = xdpctl::xdp_attachment(a.ifindex), y = xdpctl::xdp_attachment(a.peer_ifindex);
		return std::pair(x ? x->prog_id : 0u, y ? y->prog_id : 0u);
	};
	const auto running = progs();
	ASSERT_NE(running.first, 0u);
	ASSERT_NE(running.second, 0u);
	const auto pins = tree(fs_->root());
	{
		xdpctl::Fd fd(bpf_obj_get(pin.c_str()));
		ASSERT_TRUE(fd) << "the record is pinned";
		std::vector<char> v(xdpctl::kStateValueSize);
		const std::string junk = "junk\n";
		const uint32_t len = static_cast<uint32_t>(junk.size());
		std::memcpy(v.data(), &len, sizeof(len));
		std::memcpy(v.data() + sizeof(len), junk.data(), len);
		const uint32_t key = 0;
		ASSERT_EQ(bpf_map_update_elem(fd.get(), &key, v.data(), BPF_ANY), 0) << "garbage written";
	}
	const std::string says = "state " + pin +
				 ": corrupt record (not an xdpctl state record of version 1): `xdpctl repair --reset-state` "
				 "rebuilds it from what the kernel shows (Invalid argument)\n";
	for (auto [args, verb] : {std::pair{"load xdp_redirect rs0", "load"},
				  {"load xdp_pass rs0 --replace", "load"},
				  {"unload rs0", "unload"},
				  {"unload --all", "unload"},
				  {"redirect add rs0 rs1", "redirect add"},
				  {"redirect del rs0", "redirect del"},
				  {"repair", "repair"}}) {
		SCOPED_TRACE(args);
		auto r = xdpctl(args);
		EXPECT_EQ(r.rc, 1) << r.out;
		EXPECT_EQ(r.err, std::string("xdpctl ") + verb + ": " + says);
		EXPECT_TRUE(r.out.empty()) << r.out;
		EXPECT_EQ(tree(fs_->root()), pins) << "no pin added or removed";
		EXPECT_EQ(progs(), running) << "the programs as they were";
	}

	auto r = xdpctl("repair --reset-state");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "reset the state record " + pin +
			     ": rebuilt from what the kernel shows: 2 interface(s), 1 redirect rule(s), 0 group port(s)\n");
	EXPECT_EQ(r.err, "");
	EXPECT_EQ(tree(fs_->root()), pins) << "the same pins, the record among them";
	EXPECT_EQ(progs(), running) << "the programs kept";
	auto rec = xdpctl::read_state(*l);
	ASSERT_TRUE(rec) << rec.error().message();
	ASSERT_TRUE(rec->has_value()) << "a record again";
	EXPECT_EQ((*rec)->interfaces.size(), 2u);
	ASSERT_EQ((*rec)->rules.size(), 1u);
	EXPECT_EQ((*rec)->rules[0].in_ifindex, a.ifindex);
	EXPECT_EQ((*rec)->rules[0].out_ifindex, a.peer_ifindex);

	// status agrees, the verbs work again
	auto st = xdpctl("status -j");
	ASSERT_EQ(st.rc, 0) << st.err;
	auto j = nlohmann::json::parse(st.out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << st.out;
	int owned = 0;
	for (const auto &i : j.at("interfaces"))
		owned += i.value("owned", false) ? 1 : 0;
	EXPECT_EQ(owned, 2) << "both xdpctl's: " << st.out;
	r = xdpctl("redirect add rs0 rs1");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_NE(r.out.find("already in tx_port"), std::string::npos) << "the rule was kept: " << r.out;
	r = xdpctl("repair");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "nothing to repair\n");
	r = xdpctl("repair --reset-state -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(nlohmann::json::parse(r.out, nullptr, false),
		  nlohmann::json({{"reset", true},
				  {"record", pin},
				  {"interfaces", 2},
				  {"rules", 1},
				  {"ports", 0},
				  {"steps", nlohmann::json::array()}}))
	    << "with -j one object: " << r.out;
	r = xdpctl("unload --all");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(progs(), std::pair(0u, 0u)) << "detached";
	EXPECT_EQ(tree(fs_->root()), std::vector<std::string>{}) << "nothing left";
}

class CliDevmapReplace : public XdpctlNetnsTest {};

// `redirect add --replace` says what it did to each entry: "replaced" where a rule was in place,
// "added ... (--replace had nothing to replace: nothing was in place)" where none was, as load
// --replace does; -j carries "replaced" (issue 16). Without --replace the line is the plain one.
TEST_F(CliDevmapReplace, ReplaceSaysWhetherSomethingWasReplaced)
{
	add_veth("rp0", "rp1");
	add_veth("rp2", "rp3");
	// every egress port's peer runs XDP: ready redirect targets, no GRO turned on
	ASSERT_EQ(xdpctl("load xdp_redirect rp0 rp1 rp3").rc, 0);
	auto each_line = [](const std::string &out, const std::string &head, const std::string &tail) {
		std::istringstream in(out);
		std::string line;
		int n = 0;
		while (std::getline(in, line)) {
			n++;
			EXPECT_TRUE(line.starts_with(head)) << "\"" << line << "\" starts with \"" << head << "\"";
			EXPECT_TRUE(line.ends_with(tail)) << "\"" << line << "\" ends with \"" << tail << "\"";
		}
		EXPECT_GT(n, 0) << "a line per devmap: " << out;
	};
	const std::string nothing = " (--replace had nothing to replace: nothing was in place)";

	auto r = xdpctl("redirect add rp0 rp1 --replace");
	ASSERT_EQ(r.rc, 0) << r.err;
	each_line(r.out, "added tx_port", ": rp0 -> rp1" + nothing);
	r = xdpctl("redirect add rp0 rp2 --replace");
	ASSERT_EQ(r.rc, 0) << r.err;
	each_line(r.out, "replaced tx_port", ": rp0 -> rp2");
	r = xdpctl("redirect add rp0 rp1 --replace -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	auto j = nlohmann::json::parse(r.out, nullptr, false);
	ASSERT_TRUE(j.is_array() && !j.empty()) << r.out;
	for (const auto &w : j) {
		EXPECT_EQ(w.at("replaced"), true) << r.out;
		EXPECT_EQ(w.at("already"), false) << r.out;
		EXPECT_EQ(w.at("ifname"), "rp1") << r.out;
	}
	ASSERT_EQ(xdpctl("redirect del rp0").rc, 0);
	r = xdpctl("redirect add rp0 rp1 --replace -j");
	ASSERT_EQ(r.rc, 0) << r.err;
	j = nlohmann::json::parse(r.out, nullptr, false);
	ASSERT_TRUE(j.is_array() && !j.empty()) << r.out;
	for (const auto &w : j)
		EXPECT_EQ(w.at("replaced"), false) << "nothing was in place: " << r.out;
	ASSERT_EQ(xdpctl("redirect del rp0").rc, 0);
	r = xdpctl("redirect add rp0 rp1");
	ASSERT_EQ(r.rc, 0) << r.err;
	each_line(r.out, "added tx_port", ": rp0 -> rp1");
	EXPECT_EQ(r.out.find("--replace"), std::string::npos) << "no --replace, no word of it: " << r.out;
}

class CliUnloadRules : public XdpctlNetnsTest {
protected:
	// A devmap of this namespace as the library reads it (status.hpp): key -> egress ifindex
	// (empty when it is not pinned).
	std::map<uint32_t, uint32_t> devmap(const std::string &name) const
	{
		std::map<uint32_t, uint32_t> out;
		auto l = xdpctl::current_layout();
		if (!l) {
			ADD_FAILURE() << l.error().message();
			return out;
		}
		auto dm = xdpctl::devmaps_status(*l);
		if (!dm) {
			ADD_FAILURE() << dm.error().message();
			return out;
		}
		for (const auto &d : *dm)
			if (d.name == name)
				for (const auto &e : d.entries)
					out[e.key] = e.ifindex;
		return out;
	}
	// The record's redirect rules ("IN -> OUT") and group ports ("GROUP NAME"), in its order.
	std::vector<std::string> recorded() const
	{
		std::vector<std::string> out;
		auto l = xdpctl::current_layout();
		if (!l) {
			ADD_FAILURE() << l.error().message();
			return out;
		}
		auto rec = xdpctl::read_state(*l);
		if (!rec || !*rec) {
			ADD_FAILURE() << "no record: " << (rec ? "none pinned" : rec.error().message());
			return out;
		}
		for (const auto &r : (*rec)->rules)
			out.push_back(r.in_name + " -> " + r.out_name);
		for (const auto &p : (*rec)->ports)
			out.push_back(p.group + " " + p.name);
		return out;
	}
};

// `unload` of an interface that redirect rules name (issue 16): the rules with it as egress or as
// ingress go in the same command, one line each, so that no rule is left sending to an interface
// whose program is gone; a rule between other interfaces stays. The devmaps (read through the
// library), `status` and the record agree; with -j each removal is an object of state "removed".
// An interface without a program of xdpctl keeps the rules that name it (host only: no kernel
// decides that).
TEST_F(CliUnloadRules, UnloadOfAnEgressPortRemovesTheRulesToIt)
{
	auto a = add_veth("ua0", "ua1");
	auto b = add_veth("ub0", "ub1");
	ASSERT_EQ(xdpctl("load xdp_redirect ua0 ua1 ub0").rc, 0);
	// every egress port's peer runs XDP: ready targets, no GRO turned on
	for (const char *cmd : {"redirect add ua0 ua1", "redirect add ua1 ua0", "redirect add ub0 ua0"})
		ASSERT_EQ(xdpctl(cmd).rc, 0) << cmd;

	auto r = xdpctl("unload ua1");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "unloaded xdp_redirect_devmap from ua1\n"
			 "removed redirect ua0 -> ua1 (ua1 was unloaded)\n"
			 "removed redirect ua1 -> ua0 (ua1 was unloaded)\n");
	EXPECT_EQ(r.err, "");
	const std::map<uint32_t, uint32_t> kept{{static_cast<uint32_t>(b.ifindex), static_cast<uint32_t>(a.ifindex)}};
	for (const char *m : {"tx_port", "tx_port_hash"})
		EXPECT_EQ(devmap(m), kept) << m << ": no key ua0 or ua1, ub0 -> ua0 kept";
	auto st = xdpctl("status -j");
	ASSERT_EQ(st.rc, 0) << st.err;
	const auto j = nlohmann::json::parse(st.out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << st.out;
	int maps = 0;
	for (const auto &d : j.at("devmaps")) {
		if (d.at("name") != "tx_port" && d.at("name") != "tx_port_hash")
			continue;
		maps++;
		ASSERT_EQ(d.at("entries").size(), 1u) << "status lists the one rule left: " << st.out;
		EXPECT_EQ(d.at("entries")[0].at("key"), b.ifindex) << st.out;
		EXPECT_EQ(d.at("entries")[0].at("ifname"), "ua0") << st.out;
	}
	EXPECT_EQ(maps, 2) << st.out;
	EXPECT_EQ(recorded(), std::vector<std::string>{"ub0 -> ua0"});

	r = xdpctl("unload ua0 -j");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(nlohmann::json::parse(r.out, nullptr, false),
		  nlohmann::json::array({nlohmann::json::object({{"ifname", "ua0"},
								 {"ifindex", a.ifindex},
								 {"prog", "xdp_redirect_devmap"},
								 {"state", "unloaded"}}),
					 nlohmann::json::object({{"ifname", "ub0"},
								 {"ifindex", b.ifindex},
								 {"prog", ""},
								 {"state", "removed"},
								 {"detail", "removed redirect ub0 -> ua0 (ua0 was unloaded)"}})}))
	    << r.out;
	EXPECT_EQ(r.err, "");
	for (const char *m : {"tx_port", "tx_port_hash"})
		EXPECT_EQ(devmap(m), (std::map<uint32_t, uint32_t>{})) << m << ": no rule left";
	EXPECT_EQ(recorded(), std::vector<std::string>{});

	if (in_lane()) {
		lane_left_to_host(2, "runs (an interface without a program keeps its rules)");
		return;
	}
	ASSERT_EQ(xdpctl("redirect add ub0 ub1").rc, 0);
	r = xdpctl("unload ub1");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "ub1: no program of xdpctl; nothing to unload\n");
	const std::map<uint32_t, uint32_t> to_ub1{{static_cast<uint32_t>(b.ifindex), static_cast<uint32_t>(b.peer_ifindex)}};
	EXPECT_EQ(devmap("tx_port"), to_ub1) << "nothing was unloaded from ub1: its rule stays";
	EXPECT_EQ(recorded(), std::vector<std::string>{"ub0 -> ub1"});
}

// `unload` of a broadcast and multicast port (issue 16): the interface leaves every group it is a
// port of, in the same command, one line each; the other ports stay. Devmaps (through the
// library) and the record agree.
TEST_F(CliUnloadRules, UnloadOfAGroupPortRemovesItFromItsGroups)
{
	auto g = add_veth("ga0", "ga1");
	add_veth("gm0", "gm1");
	ASSERT_EQ(xdpctl("load xdp_broadcast ga0 ga1").rc, 0);
	ASSERT_EQ(xdpctl("load xdp_multicast gm0").rc, 0);
	// ga0 and ga1 are each other's peers, both run XDP: ready ports
	ASSERT_EQ(xdpctl("broadcast add ga0 ga1").rc, 0);
	ASSERT_EQ(xdpctl("multicast add 1 ga1").rc, 0);

	auto r = xdpctl("unload ga1");
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(r.out, "unloaded xdp_broadcast_devmap from ga1\n"
			 "removed ga1 from the broadcast group (ga1 was unloaded)\n"
			 "removed ga1 from multicast group 1 (ga1 was unloaded)\n");
	EXPECT_EQ(r.err, "");
	const auto ga0 = static_cast<uint32_t>(g.ifindex);
	EXPECT_EQ(devmap("bcast_ports"), (std::map<uint32_t, uint32_t>{{0, ga0}})) << "ga0 alone, in slot 0";
	EXPECT_EQ(devmap("bcast_ports_hash"), (std::map<uint32_t, uint32_t>{{ga0, ga0}}));
	EXPECT_EQ(devmap("mcast_group1"), (std::map<uint32_t, uint32_t>{})) << "ga1 was its only port";
	EXPECT_EQ(recorded(), std::vector<std::string>{"bcast ga0"});
}
