// Pieces shared by the loader's translation units; not part of the library's API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xdpctl/bpffs.hpp"
#include "xdpctl/registry.hpp"

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

// The ifindexes with a directory ROOT/ns<NS>/if<IFINDEX> (xdpctl loaded something there), ascending.
[[nodiscard]] std::vector<int> pinned_ifindexes(const Layout &l);

// Loads a resolved program into the namespace: reuses the pinned shared maps (checking they
// have the object's layout), loads (bound to bind_ifindex when non-zero) and pins the shared maps
// it created. Everything made is registered in txn.
[[nodiscard]] Status load_instance(ResolvedProgram &rp, const Layout &l, Txn &txn, int bind_ifindex);

// A permission error (EPERM/EACCES) without a detail gets what require_privileges finds missing
// (root, capabilities), and keeps strerror when nothing is.
[[nodiscard]] Error with_privilege_hint(Error e);

} // namespace xdpctl::detail
