#include "xdpctl/privileges.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace xdpctl {

namespace {

struct CapName {
	Cap cap;
	int bit;
	const char *name;
};

constexpr CapName kCaps[] = {
	{kCapBpf, CAP_BPF, "CAP_BPF"},
	{kCapNetAdmin, CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	{kCapSysAdmin, CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	{kCapPerfmon, CAP_PERFMON, "CAP_PERFMON"},
};

std::string join(const std::vector<std::string> &v)
{
	std::string out;
	for (const auto &s : v)
		out += (out.empty() ? "" : ", ") + s;
	return out;
}

} // namespace

Status require_privileges(const std::string &what, unsigned caps)
{
	std::vector<std::string> needed;
	for (const auto &c : kCaps)
		if (caps & c.cap)
			needed.push_back(c.name);
	std::string needs = what + " needs root" + (needed.empty() ? "" : " with " + join(needed));
	if (geteuid() != 0)
		return fail(EPERM, "permission denied", {}, "not root; " + needs);
	__user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
	if (syscall(SYS_capget, &hdr, data))
		return fail(errno, "capget");
	std::vector<std::string> missing;
	for (const auto &c : kCaps) {
		uint32_t word = data[c.bit / 32].effective;
		if ((caps & c.cap) && !(word & (1U << (c.bit % 32))))
			missing.push_back(c.name);
	}
	if (!missing.empty())
		return fail(EPERM, "permission denied", {}, join(missing) + " missing; " + needs);
	return {};
}

} // namespace xdpctl
