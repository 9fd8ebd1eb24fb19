// .npy and TensorProto (.pb) tensor files.
#include <cstring>
#include <filesystem>
#include <regex>

#include "onnx/onnx_pb.h"
#include "onnx_io/onnx_io.h"
#include "onnx_io/proto_tensor.h"

namespace eqopt {

namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
// Little-endian (or byte-sized) types only: this machine and ONNX raw data are little-endian.
constexpr NpyType kNpyTypes[] = {
    {"<f4", DType::Float},  {"<f8", DType::Double}, {"<f2", DType::Float16}, {"<i8", DType::Int64},
    {"<i4", DType::Int32},  {"<i2", DType::Int16},  {"|i1", DType::Int8},    {"|u1", DType::UInt8},
    {"<u2", DType::UInt16}, {"<u4", DType::UInt32}, {"<u8", DType::UInt64},  {"|b1", DType::Bool},
};

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& src) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    fail(src, ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = size_t(static_cast<unsigned char>(bytes[8])) | size_t(static_cast<unsigned char>(bytes[9])) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(src, ": truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t(static_cast<unsigned char>(bytes[8 + size_t(i)])) << (8 * i);
    header_start = 12;
  } else {
    fail(src, ": unsupported .npy version ", major);
  }
  if (header_start + header_len > bytes.size()) fail(src, ": truncated .npy header");
  const std::string header = bytes.substr(header_start, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    fail(src, ": .npy header has no descr");
  const std::string descr = m[1];
  if (std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*True)")))
    fail(src, ": Fortran-ordered .npy arrays are not supported (save with C order)");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    fail(src, ": .npy header has no shape");
  Shape shape;
  const std::string dims = m[1];
  const std::regex digits(R"(\d+)");
  std::sregex_iterator it(dims.begin(), dims.end(), digits), end;
  for (; it != end; ++it) {
    if (it->str().size() > 15) fail(src, ": .npy dimension ", it->str(), " is too large");
    shape.push_back(std::stoll(it->str()));
  }
  DType dtype = DType::Undefined;
  for (const NpyType& t : kNpyTypes)
    if (descr == t.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(t.descr).substr(1)))
      dtype = t.dtype;
  if (descr == "<b1" || descr == "|?" ) dtype = DType::Bool;
  if (descr == "<i1") dtype = DType::Int8;
  if (descr == "<u1") dtype = DType::UInt8;
  if (dtype == DType::Undefined) fail(src, ": unsupported .npy element type '", descr, "'");
  const size_t data_start = header_start + header_len;
  Tensor t(dtype, shape);
  if (bytes.size() - data_start != t.nbytes())
    fail(src, ": .npy data holds ", bytes.size() - data_start, " bytes; ", t.type_str(), " needs ", t.nbytes());
  if (t.nbytes()) std::memcpy(t.raw_mutable_data(), bytes.data() + data_start, t.nbytes());
  return t;
}

std::string serialize_npy(const Tensor& t) {
  const char* descr = nullptr;
  for (const NpyType& n : kNpyTypes)
    if (n.dtype == t.dtype()) descr = n.descr;
  if (!descr) fail("cannot write ", dtype_short_name(t.dtype()), " tensors as .npy");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + ", ";
  if (t.shape().size() > 1) shape.resize(shape.size() - 2);
  else if (t.shape().size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(char(header.size() & 0xff));
  out.push_back(char((header.size() >> 8) & 0xff));
  out += header;
  out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
  return out;
}

void save_npy(const Tensor& t, const std::string& path) { write_file_atomic(path, serialize_npy(t)); }

namespace {

NamedTensor parse_tensor_pb(const std::string& bytes, const std::string& src) {
  onnx::TensorProto p;
  if (bytes.empty() || !p.ParseFromString(bytes))
    fail(src, ": not a serialized TensorProto (protobuf parse failed)");
  const std::string dir = std::filesystem::path(src).parent_path().string();
  return {p.name(), tensor_from_proto(p, src, dir.empty() ? "." : dir)};
}

}  // namespace

NamedTensor load_tensor_file(const std::string& path) {
  const std::string bytes = read_file(path);
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npy") return {std::filesystem::path(path).stem().string(), parse_npy(bytes, path)};
  if (ext == ".pb") return parse_tensor_pb(bytes, path);
  // Unknown extension: recognise by content.
  if (bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0)
    return {std::filesystem::path(path).stem().string(), parse_npy(bytes, path)};
  return parse_tensor_pb(bytes, path);
}

void save_tensor_pb(const NamedTensor& t, const std::string& path) {
  onnx::TensorProto p;
  p.set_name(t.name);
  p.set_data_type(int32_t(t.value.dtype()));
  for (int64_t d : t.value.shape()) p.add_dims(d);
  if (t.value.dtype() == DType::String)
    for (const auto& s : t.value.strings()) p.add_string_data(s);
  else
    p.set_raw_data(t.value.raw_data(), t.value.nbytes());
  write_file_atomic(path, p.SerializeAsString());
}

}  // namespace eqopt
