// The skeleton is the program's API. bpftool's C++ skeleton members (S::open, S::load,
// S::destroy) are wrapped once here; nothing re-opens objects by path.
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <string>

#include "xdpctl/error.hpp"

namespace xdpctl {

template <class S>
struct SkelDestroy {
	void operator()(S *s) const noexcept { S::destroy(s); }
};

template <class S>
using Skel = std::unique_ptr<S, SkelDestroy<S>>;

// Opens a skeleton; rodata and map/program settings can then be changed before load_skel().
template <class S>
[[nodiscard]] Result<Skel<S>> open_skel(const std::string &name)
{
	errno = 0;
	Skel<S> s{S::open()};
	if (!s)
		return fail(errno ? errno : EINVAL, "open", name);
	return s;
}

// Loads an opened skeleton. On a verifier rejection the error carries the program's whole log
// (Error::verifier) and the verifier's reason in its detail.
template <class S>
[[nodiscard]] Status load_skel(Skel<S> &s, const std::string &name);

namespace detail {
// Captures libbpf's warnings (the verifier log is printed through them) during one load.
class LibbpfLogCapture {
public:
	LibbpfLogCapture();
	~LibbpfLogCapture();
	LibbpfLogCapture(const LibbpfLogCapture &) = delete;
	LibbpfLogCapture &operator=(const LibbpfLogCapture &) = delete;
	[[nodiscard]] std::string tail(size_t max_lines = 12) const;
	// The error of a failed load (err: libbpf's errno, either sign) of `name`: the rejected
	// program's whole verifier log when libbpf printed one, else the tail of libbpf's warnings.
	[[nodiscard]] Error load_error(int err, const std::string &name) const;

private:
	libbpf_print_fn_t prev_;
};
} // namespace detail

template <class S>
Status load_skel(Skel<S> &s, const std::string &name)
{
	detail::LibbpfLogCapture log;
	int err = S::load(s.get());
	if (err)
		return std::unexpected(log.load_error(err, name));
	return {};
}

template <class S>
[[nodiscard]] Result<Skel<S>> open_and_load_skel(const std::string &name)
{
	auto s = open_skel<S>(name);
	if (!s)
		return std::unexpected(s.error());
	if (auto st = load_skel(*s, name); !st)
		return std::unexpected(st.error());
	return std::move(*s);
}

} // namespace xdpctl
