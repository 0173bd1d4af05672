// The loader library without network namespaces: the registry and object files, the bpffs
// checks, the undo log, egress program validation and all-or-nothing devmap writes.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <map>

#include "bpffs_dir.hpp"
#include "loader_devmap_test.skel.h"
#include "xdp_meta_kfunc.skel.h"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/compat.h"
#include "xdpctl/devmap.hpp"
#include "xdpctl/egress.h"
#include "xdpctl/fd.hpp"
#include "xdpctl/meta.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/object.hpp"
#include "xdpctl/registry.hpp"
#include "xdpctl/status.hpp"

using namespace xdpctl;

namespace {
const std::string kObjDir = XDPCTL_BPF_OBJ_DIR;

std::string text_file()
{
	std::string p = "/tmp/xdpctl-notbpf-" + std::to_string(getpid()) + ".o";
	std::ofstream(p) << "this is not an ELF object\n";
	return p;
}
} // namespace

TEST(Registry, XdpPassIsThereAndOpens)
{
	const auto *spec = find_program("xdp_pass");
	ASSERT_NE(spec, nullptr) << "xdp_pass registered";
	auto rp = resolve_program({"xdp_pass", {}}, ProgKind::Xdp);
	ASSERT_TRUE(rp) << rp.error().message();
	EXPECT_STREQ(bpf_program__name(rp->prog), "xdp_pass_prog") << "the program of the entry";
	EXPECT_EQ(rp->if_maps, std::vector<std::string>{"xdpctl_stats"}) << "per-interface maps";
	for (const auto &e : registry())
		EXPECT_EQ(find_program(e.name), &e) << "names are unique: " << e.name;
}

// The kernel keeps 15 characters of a program's name; status and stats show the whole one,
// from the program's BTF.
TEST(Netdev, ProgNameIsTheWholeFunctionName)
{
	auto rp = resolve_program({"xdp_redirect_hash", {}}, ProgKind::Xdp);
	ASSERT_TRUE(rp) << rp.error().message();
	ASSERT_TRUE(rp->obj.load()) << "load";
	bpf_prog_info pi{};
	uint32_t len = sizeof(pi);
	ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(rp->prog), &pi, &len), 0) << "prog info";
	EXPECT_STREQ(pi.name, "xdp_redirect_de") << "the kernel's copy is cut";
	EXPECT_EQ(prog_name(pi.id), "xdp_redirect_devmap_hash") << "the whole name";
	auto rp2 = resolve_program({"xdp_pass", {}}, ProgKind::Xdp);
	ASSERT_TRUE(rp2) << rp2.error().message();
	ASSERT_TRUE(rp2->obj.load()) << "load";
	pi = {};
	len = sizeof(pi);
	ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(rp2->prog), &pi, &len), 0) << "prog info";
	EXPECT_EQ(prog_name(pi.id), "xdp_pass_prog") << "a short name as it is";
	EXPECT_EQ(prog_name(0x7fffffff), "") << "a program that is gone";
}

// The egress program's per-port configuration goes into its rodata by name, through the
// object's BTF, before load; a wrong name, a wrong size or a loaded object is refused.
TEST(Object, SetRodataByNameBeforeLoadOnly)
{
	auto rp = resolve_program({"xdp_egress", {}}, ProgKind::DevmapEgress);
	ASSERT_TRUE(rp) << rp.error().message();
	EXPECT_TRUE(rp->shared_maps.empty()) << "xdp_egress shares no map: its counters are its port's";
	EXPECT_TRUE(rp->obj.has_rodata(XDPCTL_EGRESS_CFG_VAR)) << "xdp_egress has port_cfg";
	EXPECT_FALSE(rp->obj.has_rodata("no_such_var")) << "an unknown variable";
	xdpctl_egress_port cfg{};
	cfg.set_src_mac = 1;
	cfg.src_mac[5] = 0x42;
	auto st = rp->obj.set_rodata("no_such_var", &cfg, sizeof(cfg));
	ASSERT_FALSE(st) << "unknown variable refused";
	EXPECT_EQ(st.error().err, ENOENT) << st.error().message();
	st = rp->obj.set_rodata(XDPCTL_EGRESS_CFG_VAR, &cfg, sizeof(cfg) - 1);
	ASSERT_FALSE(st) << "size mismatch refused";
	EXPECT_EQ(st.error().err, EINVAL) << st.error().message();
	st = rp->obj.set_rodata(XDPCTL_EGRESS_CFG_VAR, &cfg, sizeof(cfg));
	ASSERT_TRUE(st) << st.error().message();
	ASSERT_TRUE(rp->obj.load()) << "load";
	st = rp->obj.set_rodata(XDPCTL_EGRESS_CFG_VAR, &cfg, sizeof(cfg));
	ASSERT_FALSE(st) << "set after load refused";
	EXPECT_EQ(st.error().err, EBUSY) << st.error().message();

	// what the kernel holds is what was set
	bpf_prog_info pi{};
	uint32_t plen = sizeof(pi);
	ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(rp->prog), &pi, &plen), 0) << "program info";
	auto v = xdpctl::loaded_rodata(pi.id, XDPCTL_EGRESS_CFG_VAR);
	ASSERT_TRUE(v) << v.error().message();
	ASSERT_TRUE(*v) << "the loaded program has port_cfg in its rodata";
	ASSERT_EQ((*v)->size(), sizeof(cfg)) << "port_cfg's size";
	xdpctl_egress_port got{};
	std::memcpy(&got, (*v)->data(), sizeof(got));
	EXPECT_EQ(got.set_src_mac, 1) << "set_src_mac in the kernel's copy";
	EXPECT_EQ(got.src_mac[5], 0x42) << "src_mac in the kernel's copy";
}

// `xdpctl load xdp_meta_kfunc` must switch off the kfuncs the kernel lacks before the verifier
// sees them (all three on 6.18; none on 6.1, where the lane runs this too).
TEST(Registry, MetaKfuncOpensWithTheKernelsKfuncsSwitched)
{
	auto want = probe_meta_kfuncs();
	ASSERT_TRUE(want) << want.error().message();
	auto rp = resolve_program({"xdp_meta_kfunc", {}}, ProgKind::Xdp);
	ASSERT_TRUE(rp) << rp.error().message();
	EXPECT_TRUE(rp->dev_bound) << "loaded bound to the device";
	struct bpf_map *rodata = nullptr;
	struct bpf_map *m = nullptr;
	bpf_object__for_each_map(m, rp->obj.get())
		if (std::string_view(bpf_map__name(m)).ends_with(".rodata"))
			rodata = m;
	ASSERT_NE(rodata, nullptr) << "the object has rodata";
	size_t size = 0;
	const auto *ro = static_cast<const xdp_meta_kfunc::xdp_meta_kfunc__rodata *>(bpf_map__initial_value(rodata, &size));
	ASSERT_NE(ro, nullptr) << "rodata initial value";
	ASSERT_GE(size, offsetof(xdp_meta_kfunc::xdp_meta_kfunc__rodata, has_rx_vlan_tag) + 1) << "rodata holds the switches";
	EXPECT_EQ(ro->has_rx_hash, want->rx_hash) << "rx_hash switch as the kernel's BTF says";
	EXPECT_EQ(ro->has_rx_timestamp, want->rx_timestamp) << "rx_timestamp switch";
	EXPECT_EQ(ro->has_rx_vlan_tag, want->rx_vlan_tag) << "rx_vlan_tag switch";
}

struct ResolveRow {
	const char *what;
	std::string source;
	std::string prog;
	ProgKind kind;
	int err;
	const char *detail; // substring of the error's detail
};

TEST(Registry, BadProgramSourcesAreRefusedWithTheReason)
{
	std::string txt = text_file();
	std::vector<ResolveRow> rows = {
		{"unknown name", "no_such_prog", "", ProgKind::Xdp, ENOENT, "unknown program"},
		{"interface program as egress", "xdp_pass", "", ProgKind::DevmapEgress, EINVAL, "is not a devmap egress"},
		{"missing file", "/nonexistent/x.bpf.o", "", ProgKind::Xdp, ENOENT, ""},
		{"not an ELF file", txt, "", ProgKind::Xdp, ENOEXEC, "not a BPF object file"},
		{"object without XDP program", kObjDir + "/loader_tc_only.bpf.o", "", ProgKind::Xdp, ENOENT, "has no XDP"},
		{"named program missing", kObjDir + "/loader_devmap_test.bpf.o", "nope", ProgKind::Xdp, ENOENT, "not in"},
		{"named program of wrong kind", kObjDir + "/loader_devmap_test.bpf.o", "test_egress", ProgKind::Xdp, EINVAL,
		 "is not a XDP"},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		auto rp = resolve_program({r.source, r.prog}, r.kind);
		ASSERT_FALSE(rp) << "refused";
		EXPECT_EQ(rp.error().err, r.err) << "errno: " << rp.error().message();
		EXPECT_NE(rp.error().detail.find(r.detail), std::string::npos) << "reason: " << rp.error().message();
		EXPECT_EQ(rp.error().message().find('\n'), std::string::npos) << "one line";
	}
	unlink(txt.c_str());
}

TEST(Registry, ObjectFileMapsSplitIntoSharedDevmapsAndPerInterface)
{
	auto rp = resolve_program({kObjDir + "/loader_devmap_test.bpf.o", {}}, ProgKind::Xdp);
	ASSERT_TRUE(rp) << rp.error().message();
	EXPECT_STREQ(bpf_program__name(rp->prog), "test_redirect") << "first XDP program picked";
	EXPECT_EQ(rp->shared_maps, std::vector<std::string>{"tx_port"}) << "devmaps are per namespace";
	EXPECT_EQ(rp->if_maps, std::vector<std::string>{"xdpctl_stats"}) << "the rest per interface";
	auto eg = resolve_program({kObjDir + "/loader_devmap_test.bpf.o", {}}, ProgKind::DevmapEgress);
	ASSERT_TRUE(eg) << eg.error().message();
	EXPECT_STREQ(bpf_program__name(eg->prog), "test_egress") << "first devmap program picked";
}

TEST(Bpffs, RootOutsideBpffsIsRefusedAndNothingIsCreated)
{
	char tmpl[] = "/tmp/xdpctl-plain-XXXXXX";
	ASSERT_NE(mkdtemp(tmpl), nullptr);
	std::string dir = tmpl;
	Layout l{dir + "/a/b", 1};
	auto st = ensure_bpffs(l);
	ASSERT_FALSE(st) << "refused";
	EXPECT_EQ(st.error().op, "bpffs") << "not-bpffs error, not a mount failure: " << st.error().message();
	EXPECT_NE(st.error().detail.find("mount -t bpf"), std::string::npos) << "says what to do: " << st.error().message();
	EXPECT_TRUE(xt::tree(dir).empty()) << "nothing created under " << dir;
	rmdir(tmpl);
}

TEST(Bpffs, RootInsideBpffsIsCreatedAndTxnUndoesWhatItMade)
{
	xt::BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs mounted";
	auto l = current_layout();
	ASSERT_TRUE(l) << l.error().message();
	EXPECT_EQ(l->root, fs.root()) << "XDPCTL_BPFFS honoured";
	ASSERT_TRUE(ensure_bpffs(*l)) << "ROOT made";
	EXPECT_TRUE(path_exists(l->root)) << "ROOT exists";

	auto skel = open_and_load_skel<loader_devmap_test>("loader_devmap_test");
	ASSERT_TRUE(skel) << skel.error().message();
	{
		Txn txn;
		ASSERT_TRUE(txn.mkdir(l->ns_dir()));
		ASSERT_TRUE(txn.mkdir(l->maps_dir()));
		ASSERT_TRUE(txn.pin(bpf_map__fd((*skel)->maps.tx_port), l->map_pin("tx_port")));
		EXPECT_TRUE(path_exists(l->map_pin("tx_port"))) << "pinned inside the txn";
	}
	EXPECT_FALSE(path_exists(l->ns_dir())) << "uncommitted txn: pin and directories gone";
	{
		Txn txn;
		ASSERT_TRUE(txn.mkdir(l->ns_dir()));
		txn.commit();
	}
	EXPECT_TRUE(path_exists(l->ns_dir())) << "committed txn keeps what it made";
	rmdir(l->ns_dir().c_str());
}

// ensure_bpffs with a Txn: every level it makes (ROOT and those above it) is undone with it, the
// levels that were there stay; Txn::take runs the earlier Txn's steps after the taker's own. A
// loader waiting on the lock of a ROOT that its maker took back is refused, not handed a lock on
// a deleted directory.
TEST(Bpffs, LevelsEnsureMadeAreUndoneAndAWaiterOnARemovedRootIsRefused)
{
	xt::BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs mounted";
	auto fresh = xt::tree(fs.mount_point());
	Layout deep{fs.mount_point() + "/x/y/z", 1};
	{
		Txn made;
		ASSERT_TRUE(ensure_bpffs(deep, &made)) << "x/y/z made";
		EXPECT_TRUE(path_exists(deep.root));
		std::vector<std::string> order;
		{
			Txn later;
			later.on_undo([&] { order.push_back("later"); });
			later.take(made);
			EXPECT_TRUE(path_exists(deep.root)) << "taking runs nothing";
			later.on_undo([&] { order.push_back("last registered"); });
		}
		EXPECT_EQ(order, (std::vector<std::string>{"last registered", "later"})) << "the taker's own steps first";
		EXPECT_EQ(xt::tree(fs.mount_point()), fresh) << "z, y and x removed";
	}
	{
		ASSERT_EQ(mkdir((fs.mount_point() + "/x").c_str(), 0700), 0);
		Txn made;
		ASSERT_TRUE(ensure_bpffs(deep, &made)) << "y/z made below an existing x";
	}
	EXPECT_TRUE(path_exists(fs.mount_point() + "/x")) << "a level that was there stays";
	EXPECT_FALSE(path_exists(fs.mount_point() + "/x/y")) << "the levels made go";

	ASSERT_TRUE(ensure_bpffs(deep)) << "x/y/z made to stay";
	std::optional<RootLock> held;
	{
		auto r = RootLock::acquire(deep);
		ASSERT_TRUE(r) << r.error().message();
		held.emplace(std::move(*r));
	}
	std::optional<Result<RootLock>> waiter;
	std::thread t([&] { waiter.emplace(RootLock::acquire(deep)); });
	// the waiter has opened ROOT once /proc/locks lists a blocked flock ("->") of this process
	auto blocked = [] {
		std::ifstream f("/proc/locks");
		std::string line, me = " " + std::to_string(getpid()) + " ";
		while (std::getline(f, line))
			if (line.find("->") != std::string::npos && line.find(me) != std::string::npos)
				return true;
		return false;
	};
	for (int i = 0; i < 500 && !blocked(); i++)
		usleep(10 * 1000);
	bool waiting = blocked();
	EXPECT_TRUE(waiting) << "the second acquire blocks in flock";
	EXPECT_EQ(rmdir(deep.root.c_str()), 0) << "ROOT taken back under the lock";
	held.reset();
	t.join();
	if (!waiting)
		return;
	ASSERT_TRUE(waiter.has_value());
	ASSERT_FALSE(*waiter) << "no lock on a removed ROOT";
	EXPECT_EQ((*waiter).error().err, EAGAIN);
	EXPECT_NE((*waiter).error().message().find("run again"), std::string::npos) << (*waiter).error().message();
	rmdir((fs.mount_point() + "/x/y").c_str());
	rmdir((fs.mount_point() + "/x").c_str());
}

// The lock held by another process that stopped (SIGSTOP: a Ctrl-Z'd xdpctl): acquire says who
// holds it once the wait grows long (the notice, once), gives up after a timeout (ETIMEDOUT, the
// holder in the line), and without one waits until the holder lets go (14-16).
TEST(Bpffs, LockWaitNamesAStoppedHolderAndGivesUpAfterTheTimeout)
{
	xt::BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs mounted";
	Layout l{fs.root(), 1};
	ASSERT_TRUE(ensure_bpffs(l)) << "ROOT made";
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0) << "fork";
	if (child == 0) {
		int fd = open(l.root.c_str(), O_RDONLY | O_DIRECTORY);
		if (fd < 0 || flock(fd, LOCK_EX))
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		raise(SIGSTOP);
		pause();
		_exit(0);
	}
	struct Reap {
		pid_t pid;
		~Reap()
		{
			if (pid > 0) {
				kill(pid, SIGKILL);
				waitpid(pid, nullptr, 0);
			}
		}
	} reap{child};
	close(ready[1]);
	char c = 0;
	ASSERT_EQ(read(ready[0], &c, 1), 1) << "the child holds the lock";
	close(ready[0]);
	int wst = 0;
	ASSERT_EQ(waitpid(child, &wst, WUNTRACED), child);
	ASSERT_TRUE(WIFSTOPPED(wst)) << "the holder is stopped";
	const std::string pid = std::to_string(child);
	auto is_holder = [&](const std::string &h) {
		// its command is this test's own (a fork): checked by its ends
		return h.starts_with("pid " + pid + " (") && h.ends_with("), stopped (kill -CONT " + pid + " resumes it)");
	};

	struct Restore {
		~Restore() { set_lock_wait({}); } // the notice below refers to this test's locals
	} restore;
	std::vector<LockWaitNotice> seen;
	set_lock_wait({0.4, [&](const LockWaitNotice &n) { seen.push_back(n); }});
	auto t0 = std::chrono::steady_clock::now();
	auto r = RootLock::acquire(l);
	double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	ASSERT_FALSE(r) << "gave up";
	EXPECT_EQ(r.error().err, ETIMEDOUT);
	EXPECT_EQ(r.error().op, "lock");
	EXPECT_EQ(r.error().object, l.root);
	EXPECT_TRUE(r.error().detail.starts_with("still held by pid " + pid + " (")) << r.error().detail;
	EXPECT_TRUE(r.error().detail.ends_with("), stopped (kill -CONT " + pid + " resumes it), after 0.4 s: gave up, nothing was changed"))
	    << r.error().detail;
	EXPECT_GE(took, 0.4) << "waited the timeout";
	EXPECT_LT(took, 3.0) << "and no longer";
	ASSERT_EQ(seen.size(), 1u) << "one notice, at half the timeout";
	EXPECT_EQ(seen[0].root, l.root);
	EXPECT_TRUE(is_holder(seen[0].holder)) << seen[0].holder;
	EXPECT_EQ(seen[0].timeout_s, std::optional<double>(0.4));

	// no timeout: it waits, says who holds the lock after kLockNoticeAfter, and gets it once the
	// holder is gone (the notice's thread, due at 1 s, may be late on a slow guest: the holder is
	// let go once it came, or after 30 s)
	seen.clear();
	std::atomic<bool> noticed{false};
	set_lock_wait({std::nullopt, [&](const LockWaitNotice &n) {
			       seen.push_back(n);
			       noticed = true;
		       }});
	std::thread killer([&] {
		for (int i = 0; i < 3000 && !noticed; i++)
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		kill(child, SIGKILL);
	});
	t0 = std::chrono::steady_clock::now();
	auto got = RootLock::acquire(l);
	took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	killer.join();
	EXPECT_TRUE(got) << got.error().message();
	EXPECT_GE(took, kLockNoticeAfter) << "waited for the holder, past the notice";
	ASSERT_EQ(seen.size(), 1u) << "one notice";
	EXPECT_TRUE(is_holder(seen[0].holder)) << seen[0].holder;
	EXPECT_FALSE(seen[0].timeout_s.has_value());
}

// A port given twice to the library's group verbs would take two slots of bcast_ports and one key
// of its hash twin: refused before any map is opened, nothing created.
TEST(Devmap, APortGivenTwiceToAGroupIsRefusedBeforeAnything)
{
	xt::BpffsDir fs;
	ASSERT_TRUE(fs.ok()) << "private bpffs mounted";
	auto fresh = xt::tree(fs.mount_point());
	auto b = broadcast_add({"lo", "lo"}, std::nullopt, {});
	ASSERT_FALSE(b) << "broadcast_add refused";
	EXPECT_EQ(b.error().err, EINVAL);
	EXPECT_EQ(b.error().message(), "group lo: given twice: one entry per port (Invalid argument)");
	auto m = multicast_add(1, {"lo", "lo"}, std::nullopt, {});
	ASSERT_FALSE(m) << "multicast_add refused";
	EXPECT_EQ(m.error().message(), "group lo: given twice: one entry per port (Invalid argument)");
	EXPECT_EQ(xt::tree(fs.mount_point()), fresh) << "nothing created";
}

struct EgressRow {
	const char *what;
	const char *prog;
	std::optional<bool> devmap_frags;
	bool dev_bound;
	const char *refusal; // nullptr: accepted
};

TEST(Devmap, EgressProgramsAreValidatedBeforeAnyWrite)
{
	std::vector<EgressRow> rows = {
		{"devmap program", "test_egress", std::nullopt, false, nullptr},
		{"devmap program, frags match", "test_egress_frags", true, false, nullptr},
		{"frags program into a non-frags devmap", "test_egress_frags", false, false, "supports frags"},
		{"non-frags program into a frags devmap", "test_egress", true, false, "does not support frags"},
		{"interface program", "test_redirect", std::nullopt, false, "is not a devmap program"},
		{"tc program", "test_tc", std::nullopt, false, "is not an XDP program"},
		{"device-bound devmap program", "test_egress", std::nullopt, true, "device-bound"},
	};
	for (const auto &r : rows) {
		SCOPED_TRACE(r.what);
		auto obj = open_skeleton_object<loader_devmap_test>("loader_devmap_test");
		ASSERT_TRUE(obj) << obj.error().message();
		bpf_program *p = obj->program(r.prog);
		ASSERT_NE(p, nullptr);
		if (r.dev_bound)
			bpf_program__set_flags(p, bpf_program__flags(p) | BPF_F_XDP_DEV_BOUND_ONLY);
		auto st = validate_egress_prog(p, r.prog, r.devmap_frags);
		if (!r.refusal) {
			EXPECT_TRUE(st) << "accepted: " << st.error().message();
			continue;
		}
		ASSERT_FALSE(st) << "refused";
		EXPECT_NE(st.error().message().find(r.refusal), std::string::npos) << "reason: " << st.error().message();
	}
}

namespace {
std::map<uint32_t, uint32_t> dump(int fd, uint32_t max)
{
	std::map<uint32_t, uint32_t> m;
	for (uint32_t k = 0; k < max; k++) {
		bpf_devmap_val v{};
		if (bpf_map_lookup_elem(fd, &k, &v) == 0)
			m[k] = v.ifindex;
	}
	return m;
}
} // namespace

// Entries point at lo (ifindex 1 in every namespace): a devmap entry only holds a reference to the
// device, it changes nothing on it.
TEST(Devmap, FailedWriteRestoresEveryEntryItTouched)
{
	auto skel = open_and_load_skel<loader_devmap_test>("loader_devmap_test");
	ASSERT_TRUE(skel) << skel.error().message();
	int fd = bpf_map__fd((*skel)->maps.tx_port);
	ASSERT_TRUE(devmap_write(fd, "tx_port", {{3, 1, -1}})) << "a prior entry";
	auto before = dump(fd, 64);

	for (size_t threshold : {size_t(100), size_t(2)}) {
		SCOPED_TRACE(threshold == 2 ? "batch path" : "element path");
		// key 64 is past max_entries: the third write fails after two succeeded
		auto st = devmap_write(fd, "tx_port", {{5, 1, -1}, {3, 1, -1}, {64, 1, -1}}, threshold);
		ASSERT_FALSE(st) << "refused";
		EXPECT_NE(st.error().message().find("is full"), std::string::npos) << "says full: " << st.error().message();
		EXPECT_EQ(dump(fd, 64), before) << "no half-applied change";
	}
	ASSERT_TRUE(devmap_write(fd, "tx_port", {{5, 1, -1}, {6, 1, -1}, {7, 1, -1}}, 2)) << "batch write";
	EXPECT_EQ(dump(fd, 64).size(), 4u) << "three new entries and the prior one";

	{
		Txn txn;
		ASSERT_TRUE(devmap_write(fd, "tx_port", {{8, 1, -1}, {3, 1, -1}}, 8, &txn));
	}
	EXPECT_EQ(dump(fd, 64).size(), 4u) << "uncommitted txn took its writes back";
	EXPECT_EQ(dump(fd, 64).count(8), 0u) << "new key removed";
}

namespace {
// Every entry of a DEVMAP_HASH: key -> {ifindex, egress program id}.
std::map<uint32_t, std::pair<uint32_t, uint32_t>> dump_hash(int fd)
{
	std::map<uint32_t, std::pair<uint32_t, uint32_t>> m;
	uint32_t key = 0, next = 0;
	const uint32_t *cur = nullptr;
	while (bpf_map_get_next_key(fd, cur, &next) == 0) {
		bpf_devmap_val v{};
		if (bpf_map_lookup_elem(fd, &next, &v) == 0)
			m[next] = {v.ifindex, v.bpf_prog.id};
		key = next;
		cur = &key;
	}
	return m;
}
} // namespace

namespace {
// tests/progs/loader_devmap_test without its frags egress program (the devmaps hold the
// non-frags one).
std::optional<Object> load_devmap_test_object()
{
	auto obj = open_skeleton_object<loader_devmap_test>("loader_devmap_test");
	if (!obj)
		return std::nullopt;
	bpf_program *p = nullptr;
	bpf_object__for_each_program(p, obj->get())
		bpf_program__set_autoload(p, std::string(bpf_program__name(p)) != "test_egress_frags");
	if (!obj->load())
		return std::nullopt;
	return std::move(*obj);
}
} // namespace

// DEVMAP_HASH writes insert new keys with BPF_NOEXIST and read an old value only where the key
// exists: a write mixing both that fails midway, or is taken back by its txn, must still leave
// the map exactly as it was, overwritten egress programs included.
TEST(Devmap, HashWriteOfNewAndExistingKeysLeavesTheMapAsItWasOnFailure)
{
	auto obj = load_devmap_test_object();
	ASSERT_TRUE(obj) << "loader_devmap_test loaded";
	int eg = bpf_program__fd(obj->program("test_egress"));
	Fd map(bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "unit_hash", sizeof(uint32_t), sizeof(bpf_devmap_val), 4, nullptr));
	ASSERT_TRUE(map) << "DEVMAP_HASH with 4 entries: " << strerror(errno);
	int fd = map.get();
	ASSERT_TRUE(devmap_write(fd, "unit_hash", {{2, 1, eg}, {4, 1, -1}})) << "prior entries, key 2 with an egress program";
	auto before = dump_hash(fd);
	ASSERT_EQ(before.size(), 2u);
	ASSERT_NE(before[2].second, 0u) << "key 2 runs the egress program";

	for (size_t threshold : {size_t(100), size_t(2)}) {
		SCOPED_TRACE(threshold == 2 ? "batch threshold reached (devmaps have no batch op)" : "element path");
		// new 1, overwrite 2 (drops its program), new 3: the map is then full, so new 5 fails
		auto st = devmap_write(fd, "unit_hash", {{1, 1, -1}, {2, 1, -1}, {3, 1, -1}, {5, 1, -1}}, threshold);
		ASSERT_FALSE(st) << "refused";
		EXPECT_NE(st.error().message().find("is full"), std::string::npos) << "says full: " << st.error().message();
		EXPECT_EQ(dump_hash(fd), before) << "new keys deleted, key 2 has its program again, nothing else changed";
	}
	{
		Txn txn;
		ASSERT_TRUE(devmap_write(fd, "unit_hash", {{1, 1, -1}, {2, 1, -1}}, 8, &txn)) << "new 1, overwrite 2";
		auto mid = dump_hash(fd);
		EXPECT_EQ(mid.size(), 3u) << "written";
		EXPECT_EQ(mid[2].second, 0u) << "key 2 without its program";
	}
	EXPECT_EQ(dump_hash(fd), before) << "the uncommitted txn took both back";
	// a key given twice: the second write overwrites the first, and failure undoes both
	auto st = devmap_write(fd, "unit_hash", {{2, 1, -1}, {2, 1, -1}, {6, 1, -1}, {7, 1, -1}, {8, 1, -1}});
	ASSERT_FALSE(st) << "refused: full";
	EXPECT_EQ(dump_hash(fd), before) << "key 2 back as it was";
}

TEST(Devmap, EgressProgramGoesIntoTheEntry)
{
	auto obj = load_devmap_test_object();
	ASSERT_TRUE(obj) << "loader_devmap_test loaded";
	int fd = bpf_map__fd(obj->map("tx_port"));
	int eg = bpf_program__fd(obj->program("test_egress"));
	ASSERT_TRUE(devmap_write(fd, "tx_port", {{2, 1, eg}})) << "entry with egress program";
	bpf_devmap_val v{};
	uint32_t k = 2;
	ASSERT_EQ(bpf_map_lookup_elem(fd, &k, &v), 0);
	bpf_prog_info info{};
	uint32_t len = sizeof(info);
	ASSERT_EQ(bpf_obj_get_info_by_fd(eg, &info, &len), 0);
	EXPECT_EQ(v.bpf_prog.id, info.id) << "the entry runs the egress program";
}
