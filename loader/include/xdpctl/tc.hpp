// A BPF program attached as a direct-action cls_bpf filter on a clsact hook (libbpf's bpf_tc_*
// API), detached when the object goes away. The clsact qdisc is created when the interface has
// none, and then removed again with the last filter we put there.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <utility>

#include "xdpctl/error.hpp"
#include "xdpctl/fd.hpp"

namespace xdpctl {

class TcFilter {
public:
	// Attaches prog_fd at BPF_TC_INGRESS or BPF_TC_EGRESS of ifindex in the calling thread's
	// network namespace.
	[[nodiscard]] static Result<TcFilter> attach(int ifindex, enum bpf_tc_attach_point point, int prog_fd);

	TcFilter(TcFilter &&o) noexcept
		: netns_(std::move(o.netns_)), ifindex_(std::exchange(o.ifindex_, 0)), point_(o.point_),
		  handle_(o.handle_), priority_(o.priority_), own_qdisc_(o.own_qdisc_)
	{
	}
	TcFilter &operator=(TcFilter &&o) noexcept
	{
		if (this != &o) {
			detach();
			netns_ = std::move(o.netns_);
			ifindex_ = std::exchange(o.ifindex_, 0);
			point_ = o.point_;
			handle_ = o.handle_;
			priority_ = o.priority_;
			own_qdisc_ = o.own_qdisc_;
		}
		return *this;
	}
	TcFilter(const TcFilter &) = delete;
	TcFilter &operator=(const TcFilter &) = delete;
	~TcFilter() { detach(); }

	// Removes the filter (and the qdisc if we created it). Only acts while the calling thread is
	// in the namespace of attach(): an ifindex means another interface elsewhere.
	void detach() noexcept;

	[[nodiscard]] uint32_t handle() const { return handle_; }
	[[nodiscard]] uint32_t priority() const { return priority_; }

private:
	TcFilter() = default;
	Fd netns_; // the namespace the filter lives in
	int ifindex_ = 0;
	enum bpf_tc_attach_point point_ = BPF_TC_INGRESS;
	uint32_t handle_ = 0, priority_ = 0;
	bool own_qdisc_ = false;
};

} // namespace xdpctl
