// A fresh directory under /tmp for one test, removed with everything in it when the test ends,
// also when an assertion ends it early.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace xt {

class TempDir {
public:
	explicit TempDir(const std::string &prefix)
	{
		std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
		if (mkdtemp(tmpl.data()))
			path_ = tmpl;
	}
	~TempDir()
	{
		if (!path_.empty())
			std::filesystem::remove_all(path_);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	[[nodiscard]] bool ok() const { return !path_.empty(); }
	[[nodiscard]] const std::string &path() const { return path_; }

private:
	std::string path_;
};

} // namespace xt
