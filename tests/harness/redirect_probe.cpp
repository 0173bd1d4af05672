#include "redirect_probe.hpp"

#include <bpf/bpf.h>

namespace xt {

xdpctl::Result<RedirectErrProbe> RedirectErrProbe::watch(int xdp_prog_fd)
{
	struct bpf_prog_info info {};
	uint32_t len = sizeof(info);
	if (int err = bpf_obj_get_info_by_fd(xdp_prog_fd, &info, &len))
		return xdpctl::fail(-err, "bpf_obj_get_info_by_fd", "xdp program");

	auto s = xdpctl::open_skel<xdp_redirect_err_probe>("xdp_redirect_err_probe");
	if (!s)
		return std::unexpected(s.error());
	(*s)->rodata->prog_id = info.id;
	if (auto st = xdpctl::load_skel(*s, "xdp_redirect_err_probe"); !st)
		return std::unexpected(st.error());
	if (int err = xdp_redirect_err_probe::attach(s->get()))
		return xdpctl::fail(-err, "attach", "tp_btf/xdp_redirect_err");
	RedirectErrProbe p;
	p.skel_ = std::move(*s);
	return p;
}

uint64_t RedirectErrProbe::errors() const
{
	return __atomic_load_n(&skel_->bss->errors, __ATOMIC_RELAXED);
}

int RedirectErrProbe::last_err() const
{
	return __atomic_load_n(&skel_->bss->last_err, __ATOMIC_RELAXED);
}

} // namespace xt
