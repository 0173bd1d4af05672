// Control map values described by BTF alone: the built-in BTF of the value structs, a text
// printer (libbpf's btf_dump__dump_type_data) and a JSON writer that walks the BTF type (ints,
// enums, arrays, nested structs and unions, bitfields). Neither knows any value struct: a field
// added to include/xdpctl/ctlmap.h is printed by both with no other change.
#pragma once

#include <bpf/btf.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "xdpctl/error.hpp"

namespace xdpctl::ctl {

// BTF of include/xdpctl/ctlmap.h and meta.h, from the ctlmap_btf skeleton's embedded ELF (no
// file on disk). Built once; lives for the process.
[[nodiscard]] Result<const struct btf *> value_btf();
// A struct's type id by name; ENOENT when the BTF has none.
[[nodiscard]] Result<uint32_t> find_struct(const struct btf *btf, std::string_view name);

// "(struct bpf_ctrl_xdp_stats){ .ifindex = (__u32)3, ... }", every member, zeroes included.
[[nodiscard]] Result<std::string> btf_pretty(const struct btf *btf, uint32_t type_id, std::span<const std::byte> data);
// {"ifindex": 3, "xdp": [{"packets": 1, "bytes": 60}, ...], ...}. EINVAL when data is shorter
// than the type.
[[nodiscard]] Result<nlohmann::json> btf_to_json(const struct btf *btf, uint32_t type_id,
						 std::span<const std::byte> data);

// The JSON of a control map value with the members its avail bits do not vouch for set to null
// (never shown as a value). Members no avail group names are left as they are.
void null_unavailable(nlohmann::json &value, uint32_t ctrl_type, uint32_t avail);

} // namespace xdpctl::ctl
