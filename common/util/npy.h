// NumPy .npy files (format 1.0/2.0, little-endian, C order): what `cfm features` writes and what the parity
// fixtures hold. Torch-free: raw bytes plus a dtype string such as "<f4", "<i8", "|b1".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cfm {

struct NpyArray {
  std::string dtype;  // numpy descr, e.g. "<f4"
  std::vector<std::int64_t> shape;
  std::vector<char> data;  // C-order bytes
  std::size_t count() const;
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

void write_npy(const std::string& path, const NpyArray& array);
NpyArray read_npy(const std::string& path);  // IoError / FormatError naming the file

// Convenience for float32 / int64 / bool arrays.
void write_npy_f32(const std::string& path, const std::vector<std::int64_t>& shape, const float* values);
void write_npy_i64(const std::string& path, const std::vector<std::int64_t>& shape,
                   const std::int64_t* values);
void write_npy_bool(const std::string& path, const std::vector<std::int64_t>& shape, const bool* values);

}  // namespace cfm
