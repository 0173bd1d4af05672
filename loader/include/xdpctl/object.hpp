// An opened, not yet loaded bpf_object, whoever opened it: a generated skeleton (the collection)
// or a user's object file. Owns the object; closing it does not unpin anything.
#pragma once

#include <bpf/libbpf.h>

#include <functional>
#include <string>
#include <utility>

#include "xdpctl/error.hpp"
#include "xdpctl/skeleton.hpp"

namespace xdpctl {

class Object {
public:
	Object(bpf_object *obj, std::function<void()> destroy, std::string name)
	    : obj_(obj), destroy_(std::move(destroy)), name_(std::move(name))
	{
	}
	Object(const Object &) = delete;
	Object &operator=(const Object &) = delete;
	Object(Object &&o) noexcept
	    : obj_(std::exchange(o.obj_, nullptr)), destroy_(std::move(o.destroy_)), name_(std::move(o.name_))
	{
	}
	Object &operator=(Object &&o) noexcept
	{
		if (this != &o) {
			reset();
			obj_ = std::exchange(o.obj_, nullptr);
			destroy_ = std::move(o.destroy_);
			name_ = std::move(o.name_);
		}
		return *this;
	}
	~Object() { reset(); }

	[[nodiscard]] bpf_object *get() const { return obj_; }
	[[nodiscard]] const std::string &name() const { return name_; }
	[[nodiscard]] bpf_program *program(const std::string &prog) const
	{
		return bpf_object__find_program_by_name(obj_, prog.c_str());
	}
	[[nodiscard]] bpf_map *map(const std::string &m) const
	{
		return bpf_object__find_map_by_name(obj_, m.c_str());
	}

	// bpf_object__load; a program the verifier rejects gives its whole log (Error::verifier).
	[[nodiscard]] Status load();

	// Before load: sets the `const volatile` global `var` (in .rodata, found through the
	// object's BTF) to the size bytes at value. ENOENT when the object has no such variable,
	// EINVAL when its size differs, EBUSY once loaded.
	[[nodiscard]] Status set_rodata(const std::string &var, const void *value, size_t size);
	[[nodiscard]] bool has_rodata(const std::string &var) const;

private:
	void reset()
	{
		if (obj_ && destroy_)
			destroy_();
		obj_ = nullptr;
	}
	bpf_object *obj_ = nullptr;
	std::function<void()> destroy_;
	std::string name_;
};

// Opens the collection program whose skeleton is S (bpftool's C++ members S::open/S::destroy).
template <class S>
[[nodiscard]] Result<Object> open_skeleton_object(const std::string &name)
{
	auto s = open_skel<S>(name);
	if (!s)
		return std::unexpected(s.error());
	S *raw = s->release();
	return Object(raw->obj, [raw] { S::destroy(raw); }, name);
}

// Opens a user's object file. Errors say whether the file is missing or not a BPF ELF object.
[[nodiscard]] Result<Object> open_object_file(const std::string &path);

} // namespace xdpctl
