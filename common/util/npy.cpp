#include "common/util/npy.h"

#include <cstring>
#include <regex>

#include "common/util/error.h"
#include "common/util/whole_file.h"

namespace cfm {

std::size_t NpyArray::count() const {
  std::size_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

void write_npy(const std::string& path, const NpyArray& array) {
  std::string shape;  // "(3, 4)", "(3,)" or "()"
  for (std::size_t i = 0; i < array.shape.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(array.shape[i]);
  if (array.shape.size() == 1) shape += ",";
  std::string header = "{'descr': '" + array.dtype + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  std::size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";  // pad so that data starts 64-byte aligned
  const auto length = static_cast<std::uint16_t>(header.size());
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.append(reinterpret_cast<const char*>(&length), 2);
  bytes += header;
  bytes.append(array.data.data(), array.data.size());
  write_whole_file(path, bytes);
}

NpyArray read_npy(const std::string& path) {
  const std::string file = read_whole_file(path, "the .npy array");
  if (file.size() < 10 || file.compare(0, 6, "\x93NUMPY") != 0) throw FormatError(path, "not a .npy file");
  std::size_t header_length, start;
  if (file[6] == 1) {
    header_length = static_cast<unsigned char>(file[8]) | static_cast<unsigned char>(file[9]) << 8;
    start = 10;
  } else {
    std::uint32_t l;
    std::memcpy(&l, file.data() + 8, 4);
    header_length = l;
    start = 12;
  }
  std::string header = file.substr(start, header_length);
  std::smatch m;
  NpyArray array;
  if (!std::regex_search(header, m, std::regex("'descr': *'([^']+)'")))
    throw FormatError(path, "npy header without descr");
  array.dtype = m[1];
  if (header.find("'fortran_order': True") != std::string::npos)
    throw FormatError(path, "Fortran-order arrays are not supported");
  if (!std::regex_search(header, m, std::regex("'shape': *\\(([^)]*)\\)")))
    throw FormatError(path, "npy header without shape");
  std::string dims = m[1];
  std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it)
    array.shape.push_back(std::stoll(it->str()));
  std::size_t item = static_cast<std::size_t>(std::stoi(array.dtype.substr(2)));
  std::size_t bytes = array.count() * item;
  if (file.size() < start + header_length + bytes) throw FormatError(path, "npy data is truncated");
  array.data.assign(file.begin() + static_cast<std::ptrdiff_t>(start + header_length),
                    file.begin() + static_cast<std::ptrdiff_t>(start + header_length + bytes));
  return array;
}

namespace {
template <typename T>
void write_typed(const std::string& path, const std::string& dtype, const std::vector<std::int64_t>& shape,
                 const T* values) {
  NpyArray a{dtype, shape, {}};
  a.data.resize(a.count() * sizeof(T));
  std::memcpy(a.data.data(), values, a.data.size());
  write_npy(path, a);
}
}  // namespace

void write_npy_f32(const std::string& path, const std::vector<std::int64_t>& shape, const float* values) {
  write_typed(path, "<f4", shape, values);
}
void write_npy_i64(const std::string& path, const std::vector<std::int64_t>& shape,
                   const std::int64_t* values) {
  write_typed(path, "<i8", shape, values);
}
void write_npy_bool(const std::string& path, const std::vector<std::int64_t>& shape, const bool* values) {
  write_typed(path, "|b1", shape, values);
}

}  // namespace cfm
