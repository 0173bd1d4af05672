// The kernel backend's entry point. The bpf_ctlmap module's backend (BPF_MAP_CREATE with
// map_ifindex = the module's control netdev; kmod/) replaces this file: until it lands, the
// kernel backend is reported absent (ENODEV) and ControlMap::create(Auto) uses user space.
#include "xdpctl/ctlmap.hpp"

namespace xdpctl::ctl {

Result<std::unique_ptr<Backend>> open_kernel_backend(uint32_t ctrl_type)
{
	return fail(ENODEV, "open kernel backend", ctrl_type_name(ctrl_type) ? ctrl_type_name(ctrl_type) : "?",
		    "this build has no bpf_ctlmap backend");
}

} // namespace xdpctl::ctl
