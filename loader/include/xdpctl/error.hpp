// The one error model of libxdpctl: every fallible call returns Result<T>, an std::expected whose
// error carries errno, the operation, the object it was applied to and, for a program the verifier
// rejected, its whole log (VerifierLog) with the verifier's reason in the detail. The CLI prints
// Error::message() as its one line, and the log with -v.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xdpctl {

// The log of one program the verifier rejected, whole (as cilium/ebpf's VerifierError keeps it).
struct VerifierLog {
	std::string program;            // the program's name in its object
	std::vector<std::string> lines; // the log, one entry a line, without newlines
	bool truncated = false;         // the log did not fit libbpf's largest buffer (ENOSPC)

	// The verifier's reason: the log's last line that is not statistics ("processed N insns",
	// "verification time", "stack depth"), a state dump ("cur state:", "old state:"), a source
	// line ("; ...") or an instruction ("12: (69) ..."), e.g. "R1 invalid mem access 'scalar'".
	[[nodiscard]] std::string reason() const
	{
		for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
			std::string_view l = *it;
			while (!l.empty() && (l.back() == ' ' || l.back() == '\t'))
				l.remove_suffix(1);
			if (l.empty() || is_context(l))
				continue;
			return std::string(l);
		}
		return {};
	}

private:
	static bool is_context(std::string_view l)
	{
		for (std::string_view p : {"processed ", "verification time", "stack depth", "cur state:", "old state:", "; ",
					   "from ", "mark_precise", "func#"})
			if (l.starts_with(p))
				return true;
		size_t d = 0;
		while (d < l.size() && l[d] >= '0' && l[d] <= '9')
			d++;
		return d > 0 && l.substr(d).starts_with(": "); // an instruction or its state
	}
};

struct Error {
	int err = 0;           // positive errno
	std::string op;        // what was being done: "load", "bpf_map_update_elem", "attach"
	std::string object;    // what it was done to: a program, map, interface or path
	std::string detail;    // why, in words: a reason we know, or the verifier's reason
	std::optional<VerifierLog> verifier; // set when the verifier rejected a program

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
