// What docs/cli.md promises for an xdpctl error with -j: besides the one line on stderr, stdout
// holds exactly one line, one compact JSON object {"error": why, "exit": N}.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

namespace xt {

inline void expect_json_error(const std::string &out, int rc, const std::string &says)
{
	ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << "one line of JSON on stdout: " << out;
	ASSERT_EQ(out.back(), '\n') << "ends the line: " << out;
	auto j = nlohmann::json::parse(out, nullptr, false);
	ASSERT_TRUE(j.is_object()) << "stdout is a JSON object: " << out;
	EXPECT_EQ(j.size(), 2u) << "error and exit, nothing else: " << out;
	EXPECT_EQ(j.value("exit", -1), rc) << "JSON carries the exit code: " << out;
	EXPECT_NE(j.value("error", std::string()).find(says), std::string::npos) << "JSON error says why: " << out;
}

} // namespace xt
