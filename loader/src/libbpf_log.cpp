#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "xdpctl/skeleton.hpp"

namespace xdpctl::detail {
namespace {
std::mutex g_mu;
std::string g_log; // guarded by g_mu; only one capture at a time (libbpf's hook is global)
std::mutex g_capture;

int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char buf[4096];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	std::lock_guard lk(g_mu);
	g_log.append(buf, n < 0 ? 0 : std::min<size_t>(n, sizeof(buf) - 1));
	return n;
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

} // namespace xdpctl::detail
