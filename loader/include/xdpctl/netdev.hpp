// Interfaces of the calling thread's network namespace, and what is attached to them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xdpctl/error.hpp"

namespace xdpctl {

// ifindex of a device in this namespace; the error says it is not here.
[[nodiscard]] Result<int> ifindex_of(const std::string &ifname);
// Name of ifindex in this namespace; the error says it is not here.
[[nodiscard]] Result<std::string> ifname_of(int ifindex);

struct NetDev {
	int ifindex = 0;
	std::string name;
};
[[nodiscard]] Result<std::vector<NetDev>> list_netdevs();

enum class XdpMode { None, Native, Skb, Hw, Multi };
[[nodiscard]] const char *to_string(XdpMode m);

struct XdpAttachment {
	XdpMode mode = XdpMode::None;
	uint32_t prog_id = 0;     // the program (for Multi: the native one if any)
	uint32_t drv_prog_id = 0, skb_prog_id = 0, hw_prog_id = 0;
};
[[nodiscard]] Result<XdpAttachment> xdp_attachment(int ifindex);

// A loaded program's name, "" when it is gone: the whole function name from its BTF where the
// kernel's own copy is cut at 15 characters.
[[nodiscard]] std::string prog_name(uint32_t prog_id);

} // namespace xdpctl
