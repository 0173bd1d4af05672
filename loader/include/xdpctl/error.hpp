// The one error model of libxdpctl: every fallible call returns Result<T>, an std::expected whose
// error carries errno, the operation, the object it was applied to and, for loads, the tail of
// the verifier log. The CLI prints Error::message() as its one line.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace xdpctl {

struct Error {
	int err = 0;           // positive errno
	std::string op;        // what was being done: "load", "bpf_map_update_elem", "attach"
	std::string object;    // what it was done to: a program, map, interface or path
	std::string detail;    // why, in words: a reason we know, or the verifier log tail

	[[nodiscard]] std::string message() const
	{
		std::string m = op;
		if (!object.empty())
			m += " " + object;
		m += ": ";
		m += detail.empty() ? std::strerror(err) : detail;
		if (!detail.empty() && err)
			m += std::string(" (") + std::strerror(err) + ")";
		return m;
	}
};

template <class T = void>
using Result = std::expected<T, Error>;
using Status = Result<void>;

[[nodiscard]] inline std::unexpected<Error> fail(int err, std::string op, std::string object = {},
						 std::string detail = {})
{
	return std::unexpected<Error>(Error{err < 0 ? -err : err, std::move(op), std::move(object),
					    std::move(detail)});
}

// For libbpf calls that return a negative errno.
[[nodiscard]] inline Status check(int ret, std::string op, std::string object = {})
{
	if (ret < 0)
		return fail(-ret, std::move(op), std::move(object));
	return {};
}

} // namespace xdpctl
