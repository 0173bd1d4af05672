// Pieces shared by the loader's translation units; not part of the library's API.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/netdev.hpp"
#include "xdpctl/registry.hpp"
#include "xdpctl/state.hpp"

namespace xdpctl::detail {

struct LinkInfo {
	uint32_t id = 0;
	uint32_t prog_id = 0;
	uint32_t ifindex = 0; // 0 once the device is gone (the link was detached)
	uint32_t type = 0;
};
[[nodiscard]] Result<LinkInfo> link_info(int link_fd);
// The pinned xdpctl link of ifindex, if there is one.
[[nodiscard]] Result<LinkInfo> pinned_link_info(const Layout &l, int ifindex);
// The id of the XDP link holding prog_id on ifindex, 0 when the program was attached through
// netlink (or the link is gone). Program ids are global, so (ifindex, prog id) names the link even
// across namespaces; found by walking every link (bpf_link_get_next_id: CAP_SYS_ADMIN).
[[nodiscard]] uint32_t find_xdp_link(int ifindex, uint32_t prog_id);

// What the kernel says about a pinned XDP link (dir_ifindex: the if<IFINDEX> it is pinned in, 0
// for a moved<LINK_ID> directory).
enum class Where {
	None,      // no link pinned (a load killed before it pinned its link) or not a link
	Here,      // attached to the device of its ifindex in this namespace
	Gone,      // its device was removed (the kernel detached it: ifindex 0)
	Elsewhere, // attached, but not to a device of this namespace (moved with its device)
};
struct Seen {
	Where where = Where::None;
	LinkInfo li;
};
[[nodiscard]] Seen see_link(const std::string &pin, int dir_ifindex);

// An interface that moved into the caller's namespace with the link xdpctl made in its old one:
// the directory of that link's pin under another namespace's ROOT/ns<NS> (if<IFINDEX>, or
// moved<LINK_ID> once its old namespace noticed), found by the program att runs; nullopt when
// none is xdpctl's.
[[nodiscard]] std::optional<std::string> foreign_pin_dir(const Layout &l, const XdpAttachment &att);

// The ifindexes with a directory ROOT/ns<NS>/if<IFINDEX> (xdpctl loaded something there), ascending.
[[nodiscard]] std::vector<int> pinned_ifindexes(const Layout &l);

// Loads a resolved program into the namespace: reuses the pinned shared maps (checking they
// have the object's layout), loads (bound to bind_ifindex when non-zero) and pins the shared maps
// it created. Everything made is registered in txn.
[[nodiscard]] Status load_instance(ResolvedProgram &rp, const Layout &l, Txn &txn, int bind_ifindex);

// A command's session: the RootLock held, the desired state read (or, without a record, made
// from what is pinned) and the namespace converged to it (loader_attach.cpp).
struct Session {
	Layout l;
	RootLock lock;
	DesiredState st;
	bool recorded = false;       // a record was pinned (else st was made from what is pinned)
	std::vector<Detached> notes; // what the convergence did: devices gone or moved, loads dropped
};
[[nodiscard]] Result<Session> open_converged(const Layout &l);
// For the verbs that change pins without a session (monitor start and stop, repair
// --reset-state), under the RootLock: when the record names another netns cookie (a deleted
// namespace whose inode this one got), what that namespace left is removed, as every session
// does first; returns the note saying so (DetachState::Leftover), none otherwise. A record that
// cannot be read is left to the verbs that read it.
[[nodiscard]] Result<std::vector<Detached>> drop_dead_namespace(const Layout &l);
// The end of every command: the record written, or, once nothing of xdpctl is left in the
// namespace, the shared maps, the record and the directory removed.
[[nodiscard]] Status settle_state(Session &s);

// unload() (loader.hpp), and, keep_entries true, without dropping the redirect rules and group
// ports that name the interfaces (they go only with the last interface, with the shared maps):
// for apply, whose file says which entries stay, and whose reattach (unload, load) of an
// interface keeps its entries.
[[nodiscard]] Result<std::vector<Detached>> unload_interfaces(const std::vector<std::string> &interfaces,
							      bool keep_entries);

// The entries of a devmap, by key (a DEVMAP's empty slots left out).
struct Entry {
	uint32_t key;
	bpf_devmap_val val;
};
[[nodiscard]] std::vector<Entry> read_entries(int fd);

// Makes the namespace's devmaps hold what s records (rules in tx_port and tx_port_hash alike,
// ports in both flavours of their group): entries nobody recorded go (a del that was killed),
// recorded ones not yet written are written (an add that was killed; dropped if that fails),
// and a written one the kernel removed (its device went: dev_map_notification) is forgotten
// with its twin. Without a record (recorded false) the entries found are recorded as they are.
// notes: where each entry written or removed is reported (a killed add or del finished); null
// when the change is the caller's own (a del making the devmaps match its record).
[[nodiscard]] Status reconcile_devmaps(const Layout &l, DesiredState &s, bool recorded,
				       std::vector<Detached> *notes = nullptr);
// A group of the record as a user reads it ("bcast": "the broadcast group", "mcast2": "multicast
// group 2").
[[nodiscard]] std::string group_title(const std::string &group);

// Hands notes to the convergence observer (set_convergence_observer), for the verbs whose
// result does not carry them.
void report_convergence(const std::vector<Detached> &notes);

// A permission error (EPERM/EACCES) without a detail gets what require_privileges finds missing
// (root, capabilities), and keeps strerror when nothing is.
[[nodiscard]] Error with_privilege_hint(Error e);

} // namespace xdpctl::detail
