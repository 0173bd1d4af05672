#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "xdpctl/fd.hpp"
#include "xdpctl/object.hpp"

namespace xdpctl {

Status Object::load()
{
	detail::LibbpfLogCapture log;
	if (int err = bpf_object__load(obj_); err)
		return fail(-err, "load", name_, log.tail());
	return {};
}

Result<Object> open_object_file(const std::string &path)
{
	Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd)
		return fail(errno, "open", path);
	unsigned char magic[4] = {};
	if (read(fd.get(), magic, sizeof(magic)) != sizeof(magic) || std::memcmp(magic, "\x7f" "ELF", 4) != 0)
		return fail(ENOEXEC, "open", path, "not a BPF object file (no ELF header); give a clang -target bpf object or a program name (xdpctl load --list)");
	detail::LibbpfLogCapture log;
	bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
	if (!obj) {
		int err = errno;
		return fail(err, "open", path, "not a BPF object file libbpf can open; give a clang -target bpf object");
	}
	return Object(obj, [obj] { bpf_object__close(obj); }, path);
}

} // namespace xdpctl
