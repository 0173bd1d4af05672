// The fuzzers' input format (described in fuzz.hpp), as far as tools without libbpf need it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fz {

inline constexpr size_t kConfigBytes = 16;

// The input a captured frame becomes: the default configuration, mode 0 (a raw frame), the frame.
inline std::vector<uint8_t> encode_raw(const std::vector<uint8_t> &frame)
{
	std::vector<uint8_t> b(kConfigBytes + 1, 0);
	b.insert(b.end(), frame.begin(), frame.end());
	return b;
}

} // namespace fz
