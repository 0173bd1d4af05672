#include <fcntl.h>
#include <unistd.h>

#include <bpf/btf.h>

#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "xdpctl/fd.hpp"
#include "xdpctl/object.hpp"

namespace xdpctl {

Status Object::load()
{
	detail::LibbpfLogCapture log;
	if (int err = bpf_object__load(obj_); err)
		return std::unexpected(log.load_error(err, name_));
	return {};
}

namespace {

struct RodataVar {
	bpf_map *map = nullptr;
	uint32_t offset = 0, size = 0;
};

// The variable's place in the object's .rodata, from the BTF DATASEC libbpf sized at open.
std::optional<RodataVar> find_rodata(bpf_object *obj, const std::string &var)
{
	const btf *b = bpf_object__btf(obj);
	if (!b)
		return std::nullopt;
	bpf_map *m = nullptr;
	bpf_object__for_each_map(m, obj) {
		std::string_view n = bpf_map__name(m);
		if (!bpf_map__is_internal(m) || !n.ends_with(".rodata"))
			continue;
		int id = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
		if (id < 0)
			return std::nullopt;
		const btf_type *sec = btf__type_by_id(b, id);
		const btf_var_secinfo *vi = btf_var_secinfos(sec);
		for (uint16_t i = 0; i < btf_vlen(sec); i++, vi++) {
			const btf_type *v = btf__type_by_id(b, vi->type);
			if (var == btf__name_by_offset(b, v->name_off))
				return RodataVar{m, vi->offset, vi->size};
		}
	}
	return std::nullopt;
}

} // namespace

bool Object::has_rodata(const std::string &var) const
{
	return find_rodata(obj_, var).has_value();
}

Status Object::set_rodata(const std::string &var, const void *value, size_t size)
{
	auto v = find_rodata(obj_, var);
	if (!v)
		return fail(ENOENT, "rodata", name_, "has no const volatile variable " + var);
	if (v->size != size)
		return fail(EINVAL, "rodata", name_,
			    var + " is " + std::to_string(v->size) + " bytes, not " + std::to_string(size));
	if (bpf_map__fd(v->map) >= 0)
		return fail(EBUSY, "rodata", name_, "cannot be set once the object is loaded");
	size_t len = 0;
	const void *cur = bpf_map__initial_value(v->map, &len);
	if (!cur || v->offset + size > len)
		return fail(EINVAL, "rodata", name_, "has no initial value to set " + var + " in");
	std::vector<uint8_t> data(static_cast<const uint8_t *>(cur), static_cast<const uint8_t *>(cur) + len);
	std::memcpy(data.data() + v->offset, value, size);
	if (int err = bpf_map__set_initial_value(v->map, data.data(), data.size()))
		return fail(-err, "rodata", name_, "setting " + var);
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
