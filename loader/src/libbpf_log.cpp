#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "xdpctl/skeleton.hpp"

namespace xdpctl::detail {
namespace {
std::mutex g_mu;
std::string g_log; // guarded by g_mu; only one capture at a time (libbpf's hook is global)
std::mutex g_capture;

// Keeps each message whole: libbpf prints a rejected program's verifier log, megabytes long, as
// one message.
int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	va_list size_ap;
	va_copy(size_ap, ap);
	int n = vsnprintf(nullptr, 0, fmt, size_ap);
	va_end(size_ap);
	if (n <= 0)
		return n;
	std::string msg(static_cast<size_t>(n) + 1, '\0');
	vsnprintf(msg.data(), msg.size(), fmt, ap);
	msg.resize(static_cast<size_t>(n));
	std::lock_guard lk(g_mu);
	g_log += msg;
	return n;
}

// libbpf 1.1 prints a rejected program's log as
//   libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --\n
// having grown its own buffer (from 16 MiB) and retried while the kernel said ENOSPC. It does
// not grow a buffer set with bpf_program__set_log_buf, and an object is loaded once only (a
// failed bpf_object__load cannot be retried), so its own buffer is the one that can hold any log.
std::optional<VerifierLog> parse_verifier_log(const std::string &log)
{
	static constexpr std::string_view kBegin = "': -- BEGIN PROG LOAD LOG --\n";
	static constexpr std::string_view kEnd = "-- END PROG LOAD LOG --";
	size_t b = log.rfind(kBegin);
	if (b == std::string::npos)
		return std::nullopt;
	size_t name_at = log.rfind("prog '", b);
	if (name_at == std::string::npos)
		return std::nullopt;
	VerifierLog v;
	v.program = log.substr(name_at + 6, b - name_at - 6);
	size_t from = b + kBegin.size();
	size_t end = log.find(kEnd, from);
	std::istringstream in(log.substr(from, end == std::string::npos ? std::string::npos : end - from));
	for (std::string l; std::getline(in, l);)
		v.lines.push_back(l);
	while (!v.lines.empty() && v.lines.back().empty())
		v.lines.pop_back();
	return v;
}
} // namespace

LibbpfLogCapture::LibbpfLogCapture()
{
	g_capture.lock();
	{
		std::lock_guard lk(g_mu);
		g_log.clear();
	}
	prev_ = libbpf_set_print(capture_print);
}

LibbpfLogCapture::~LibbpfLogCapture()
{
	libbpf_set_print(prev_);
	g_capture.unlock();
}

std::string LibbpfLogCapture::tail(size_t max_lines) const
{
	std::lock_guard lk(g_mu);
	std::vector<std::string> lines;
	std::istringstream in(g_log);
	for (std::string l; std::getline(in, l);)
		if (!l.empty())
			lines.push_back(l);
	size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
	std::string out;
	for (size_t i = from; i < lines.size(); i++)
		out += (out.empty() ? "" : "\n") + lines[i];
	return out;
}

Error LibbpfLogCapture::load_error(int err, const std::string &name) const
{
	err = err < 0 ? -err : err;
	std::optional<VerifierLog> v;
	{
		std::lock_guard lk(g_mu);
		v = parse_verifier_log(g_log);
	}
	if (!v)
		return Error{err, "load", name, tail()};
	v->truncated = err == ENOSPC;
	std::string reason = v->reason();
	std::string detail = "the verifier rejected program '" + v->program + "'";
	if (!reason.empty())
		detail += ": " + reason;
	if (v->truncated)
		detail += " (log truncated)";
	return Error{err, "load", name, std::move(detail), std::move(v)};
}

} // namespace xdpctl::detail
