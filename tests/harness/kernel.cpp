#include "kernel.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace xt {

const KernelVersion &kernel_version()
{
	static const KernelVersion v = [] {
		KernelVersion k;
		struct utsname u {};
		if (uname(&u) == 0) {
			k.release = u.release;
			std::sscanf(u.release, "%d.%d.%d", &k.major, &k.minor, &k.patch);
		}
		return k;
	}();
	return v;
}

bool kernel_at_least(int major, int minor)
{
	const auto &k = kernel_version();
	return k.major > major || (k.major == major && k.minor >= minor);
}

bool kernel_has_module_btf(const std::string &name)
{
	return access(("/sys/kernel/btf/" + name).c_str(), R_OK) == 0;
}

bool in_lane()
{
	const char *l = std::getenv("XDPCTL_LANE");
	return l && *l;
}

void lane_left_to_host(size_t n, const std::string &what)
{
	if (n)
		std::printf("lane: %zu %s left to the host\n", n, what.c_str());
}

} // namespace xt
