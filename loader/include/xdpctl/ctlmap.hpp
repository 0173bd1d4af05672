// The control map: "[RFC][Proposal] BPF Control MAP" with the proposal's own operations, on the
// kernels people run today.
//
//   auto map = ControlMap::create(BPF_CTRL_XDP_STATS);            // the control type
//   uint32_t key, next; const uint32_t *cur = nullptr;            // nullptr: start
//   while (map->get_next_key(cur, &next)) {                      // ascending ifindex
//           auto stats = map->lookup_as<bpf_ctrl_xdp_stats>(next);
//           std::cout << *btf_pretty(map->btf(), map->value_type_id(), as_bytes(*stats));
//           key = next; cur = &key;
//   }
//
// Keys are ifindexes of the calling thread's network namespace (taken when the map is created).
// get_next_key walks them in ascending order: from no key the smallest, from a key the next
// larger one that exists now, after the largest ENOENT. A key no netdev has (0, never used, or
// deleted after the walk returned it) starts the walk over from the smallest ifindex, as from no
// key: that is what the kernel's hash and array maps, which a control map is created as, do with
// a key they do not hold (htab_map_get_next_key() goes to find_first_elem, array_map_get_next_key()
// returns 0), and walkers written for them (bpftool map dump) get the answers they know. They see
// the devices before a vanished key twice, none skipped: a key not larger than the previous one
// is such a restart, and a walker that wants each device once skips those keys (xdpctl ctl
// does). Devices deleted and created without pause can keep a walk going, as on a hash map. A
// device created during the walk is returned when its ifindex is larger than the current key (new
// devices get increasing ifindexes); every key returned existed when it was returned.
//
// Freshness: the kernel backend asks the module at every operation. The user-space backend
// answers a walk from one snapshot: get_next_key from no key, or from one no netdev has (a
// restart), takes it (one dump per netlink family, not one request per device), and the first lookup of each key during that walk comes
// from it, if the device still exists under the same name. A lookup outside a walk (after
// get_next_key returned ENOENT), of a key the snapshot does not have, a second lookup of the
// same key, a lookup once the snapshot is over a second old or after an update asks the
// kernel. So each walk sees the counters as of its start, and a lookup is never older than that.
//
// Errors (Error::err, positive errno), nothing changed on any of them:
//   ENOENT      no netdev has that ifindex; get_next_key: no netdev after this one (never for a
//               key no netdev has: that one starts over)
//   EINVAL      unknown control type or command, key or value of the wrong size, value.ifindex
//               neither 0 nor the key, update on the read-only XDP_STATS, a count over the maximum
//   EOPNOTSUPP  the driver refuses what was asked (ring sizes on veth, channels it does not have)
//   others      as the kernel returned them (EPERM without CAP_NET_ADMIN, ...)
//
//   EALREADY    SETUP_MD on while metadata is on, off while it is off
//
// Two backends answer behind one interface: the kernel's (BPF_MAP_CREATE with map_ifindex = the
// bpf_ctlmap control netdev; kmod/) when that module is loaded, the user-space one (netlink and
// the pinned maps of xdpctl's programs) otherwise. backend_name() says which one answered.
// SETUP_MD attaches the device-bound xdp_meta_kfunc program through the loader (pinned link) or
// removes it; a kernel module cannot load programs, so the kernel backend delegates SETUP_MD to
// the loader too, while its lookups come from the module.
#pragma once

#include <bpf/btf.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xdpctl/ctlmap.h"
#include "xdpctl/error.hpp"

namespace xdpctl::ctl {

// What answers one control map's operations. Values are exactly value_size(type) bytes.
class Backend {
public:
	virtual ~Backend() = default;
	[[nodiscard]] virtual std::string_view name() const = 0;
	[[nodiscard]] virtual Status get_next_key(const uint32_t *key, uint32_t *next) = 0;
	[[nodiscard]] virtual Status lookup(uint32_t ifindex, std::span<std::byte> value) = 0;
	[[nodiscard]] virtual Status update(uint32_t ifindex, std::span<const std::byte> value) = 0;
	// The BTF describing the value type and the type's id in it. The default is libxdpctl's
	// built-in BTF (value_btf()); the kernel backend answers with the module's BTF.
	[[nodiscard]] virtual const struct btf *btf() const;
	[[nodiscard]] virtual uint32_t value_type_id() const;

protected:
	explicit Backend(uint32_t ctrl_type) : type_(ctrl_type) {}
	uint32_t type_;
};

// The user-space backend: works on any kernel, no module.
[[nodiscard]] Result<std::unique_ptr<Backend>> open_user_backend(uint32_t ctrl_type);
// The kernel backend; ENODEV when the bpf_ctlmap module (its control netdev) is not there. Its
// btf() is the module's BTF (split over vmlinux).
[[nodiscard]] Result<std::unique_ptr<Backend>> open_kernel_backend(uint32_t ctrl_type);

enum class BackendChoice { Auto, User, Kernel };

class ControlMap {
public:
	// EINVAL for an unknown control type. Auto: the kernel backend when present, else user space.
	[[nodiscard]] static Result<ControlMap> create(uint32_t ctrl_type, BackendChoice which = BackendChoice::Auto);

	[[nodiscard]] uint32_t ctrl_type() const { return type_; }
	[[nodiscard]] static constexpr uint32_t key_size() { return sizeof(uint32_t); }
	[[nodiscard]] uint32_t value_size() const;
	[[nodiscard]] std::string_view backend_name() const { return be_->name(); }

	// The proposal's three operations.
	[[nodiscard]] Status get_next_key(const uint32_t *key, uint32_t *next);
	[[nodiscard]] Status lookup(uint32_t ifindex, std::span<std::byte> value);
	[[nodiscard]] Status update(uint32_t ifindex, std::span<const std::byte> value);

	[[nodiscard]] Result<std::vector<std::byte>> lookup(uint32_t ifindex);
	template <class T>
	[[nodiscard]] Result<T> lookup_as(uint32_t ifindex)
	{
		T v{};
		if (auto st = lookup(ifindex, std::as_writable_bytes(std::span(&v, 1))); !st)
			return std::unexpected(st.error());
		return v;
	}
	template <class T>
	[[nodiscard]] Status update_as(uint32_t ifindex, const T &v)
	{
		return update(ifindex, std::as_bytes(std::span(&v, 1)));
	}

	// bpf_map_{get_next_key,lookup_elem,update_elem} shaped: raw key bytes, sizes checked the
	// way the kernel checks them (EINVAL). An empty key starts get_next_key.
	[[nodiscard]] Status get_next_key_elem(std::span<const std::byte> key, std::span<std::byte> next);
	[[nodiscard]] Status lookup_elem(std::span<const std::byte> key, std::span<std::byte> value);
	[[nodiscard]] Status update_elem(std::span<const std::byte> key, std::span<const std::byte> value);

	// The value's BTF: print or parse values with nothing else (ctl_btf.hpp).
	[[nodiscard]] const struct btf *btf() const { return be_->btf(); }
	[[nodiscard]] uint32_t value_type_id() const { return be_->value_type_id(); }

private:
	ControlMap(uint32_t type, std::unique_ptr<Backend> be) : type_(type), be_(std::move(be)) {}
	uint32_t type_;
	std::unique_ptr<Backend> be_;
};

// sizeof the type's value struct; 0 for an unknown type.
[[nodiscard]] uint32_t value_size(uint32_t ctrl_type);
// "XDP_STATS", "XDP_ATTR", "XDP_MD"; nullptr for an unknown type.
[[nodiscard]] const char *ctrl_type_name(uint32_t ctrl_type);
// The value struct's name in BTF: "bpf_ctrl_xdp_stats", ...; nullptr for an unknown type.
[[nodiscard]] const char *value_type_name(uint32_t ctrl_type);

// Which value members an avail bit vouches for (member paths as in JSON: "rings.num", "xdp").
struct AvailGroup {
	uint32_t bit;
	const char *name;
	std::vector<std::string> members;
};
[[nodiscard]] const std::vector<AvailGroup> &avail_groups(uint32_t ctrl_type);

} // namespace xdpctl::ctl
