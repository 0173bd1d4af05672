// reset_state (loader.hpp): the record of a namespace unpinned, then rebuilt by repair() from what
// the kernel shows; `xdpctl repair --reset-state`.
#include "loader_internal.hpp"
#include "xdpctl/bpffs.hpp"
#include "xdpctl/loader.hpp"
#include "xdpctl/privileges.hpp"
#include "xdpctl/state.hpp"

namespace xdpctl {

Result<StateReset> reset_state()
{
	if (auto st = require_privileges("repair", kLoadCaps); !st)
		return std::unexpected(st.error());
	auto l = current_layout();
	if (!l)
		return std::unexpected(l.error());
	if (auto st = check_bpffs(*l); !st)
		return std::unexpected(st.error());
	StateReset out;
	out.pin = l->ns_dir() + "/" + kStatePin;
	if (path_exists(out.pin)) {
		// released before repair() takes it again (a second flock of this process would wait
		// for the first); a command in between finds no record and rebuilds it the same way
		auto lock = RootLock::acquire(*l);
		if (!lock)
			return std::unexpected(lock.error());
		out.removed = path_exists(out.pin);
		// a record of a deleted namespace whose inode this one got goes with what that
		// namespace left (as every command does first), not into the rebuilt record
		auto dead = detail::drop_dead_namespace(*l);
		if (!dead)
			return std::unexpected(dead.error());
		out.steps = std::move(*dead);
		remove_state(*l);
		if (path_exists(out.pin))
			return fail(EPERM, "unlink", out.pin, "could not remove the state record; remove it by hand (rm " + out.pin + ")");
	}
	auto steps = repair();
	if (!steps)
		return std::unexpected(steps.error());
	out.steps.insert(out.steps.end(), steps->begin(), steps->end());
	auto rec = read_state(*l);
	if (!rec)
		return std::unexpected(rec.error());
	if (*rec) {
		out.interfaces = (*rec)->interfaces.size();
		out.rules = (*rec)->rules.size();
		out.ports = (*rec)->ports.size();
	}
	return out;
}

} // namespace xdpctl
