#include "model/checkpoint.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vidserve {
namespace {

// safetensors is little-endian; so are all hosts vidserve targets (x86-64, aarch64).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint I/O assumes little-endian");

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit is 100 MB

std::string ShapeString(c10::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status Corrupt(const std::string& path, const std::string& message) {
  return absl::DataLossError(absl::StrCat("checkpoint ", path, ": ", message));
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata,
                              CheckpointDtype dtype) {
  const auto scalar = dtype == CheckpointDtype::kFloat16 ? torch::kHalf : torch::kFloat;
  const char* dtype_name = dtype == CheckpointDtype::kFloat16 ? "F16" : "F32";
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || header.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", path, ": duplicate or reserved tensor name '", name, "'"));
    }
    auto t = tensor.detach().to(torch::kCPU, scalar).contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name},
                    {"shape", std::vector<int64_t>(t.sizes().begin(), t.sizes().end())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string header_text = header.dump();
  // Pad with spaces to 8 bytes so the data section is aligned, as the reference writer does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const uint64_t header_len = header_text.size();

  const std::string tmp_path = path + ".tmp";
  {
    std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
    if (!out)
      return absl::PermissionDeniedError(absl::StrCat("checkpoint: cannot write '", tmp_path, "'"));
    out.write(reinterpret_cast<const char*>(&header_len), sizeof(header_len));
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const auto& t : data) {
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * t.element_size()));
    }
    if (!out.good())
      return absl::DataLossError(absl::StrCat("checkpoint: short write to '", tmp_path, "'"));
  }
  // Rename so a reader never sees a half-written checkpoint.
  if (std::rename(tmp_path.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("checkpoint: cannot rename '", tmp_path, "' to '", path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointContents> ReadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("checkpoint: cannot open '", path, "'"));
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < 8) {
    return Corrupt(path, absl::StrCat("truncated: ", file_size,
                                      " bytes, expected at least 8 (header length)"));
  }
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), sizeof(header_len));
  if (header_len > kMaxHeaderBytes || header_len > file_size - 8) {
    return Corrupt(path, absl::StrCat("truncated or corrupt: header length ", header_len,
                                      " but the file has ", file_size - 8, " bytes after it"));
  }
  std::string header_text(header_len, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json header = nlohmann::json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return Corrupt(path, "header is not a valid JSON object");
  }
  const uint64_t data_size = file_size - 8 - header_len;
  std::string data(data_size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data_size));
  if (!in) return Corrupt(path, "could not read the data section");

  CheckpointContents contents;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Corrupt(path, "__metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return Corrupt(path, absl::StrCat("__metadata__.", key, ": expected a string value"));
        }
        contents.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || !entry["dtype"].is_string() ||
        !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      return Corrupt(
          path,
          absl::StrCat(
              "tensor '", name,
              "': entry needs dtype (string), shape (array) and data_offsets ([begin, end])"));
    }
    const std::string dtype = entry["dtype"].get<std::string>();
    torch::ScalarType scalar;
    if (dtype == "F32") {
      scalar = torch::kFloat;
    } else if (dtype == "F16") {
      scalar = torch::kHalf;
    } else if (dtype == "BF16") {
      scalar = torch::kBFloat16;
    } else {
      return absl::UnimplementedError(absl::StrCat("checkpoint ", path, ": tensor '", name,
                                                   "': dtype ", dtype,
                                                   " unsupported (expected F32, F16 or BF16)"));
    }
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& dim : entry["shape"]) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
        return Corrupt(
            path, absl::StrCat("tensor '", name, "': shape entries must be non-negative integers"));
      }
      shape.push_back(dim.get<int64_t>());
      numel *= static_cast<uint64_t>(shape.back());
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      return Corrupt(
          path, absl::StrCat("tensor '", name, "': data_offsets must be non-negative integers"));
    }
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    const uint64_t expected_bytes = numel * c10::elementSize(scalar);
    if (begin > end || end > data_size) {
      return Corrupt(path, absl::StrCat("tensor '", name, "': data_offsets [", begin, ", ", end,
                                        "] out of range of the ", data_size,
                                        "-byte data section (truncated file?)"));
    }
    if (end - begin != expected_bytes) {
      return Corrupt(
          path, absl::StrCat("tensor '", name, "': data_offsets span ", end - begin, " bytes but ",
                             dtype, " shape ", ShapeString(shape), " needs ", expected_bytes));
    }
    auto t = torch::empty(shape, torch::TensorOptions().dtype(scalar));
    if (expected_bytes > 0) std::memcpy(t.data_ptr(), data.data() + begin, expected_bytes);
    contents.tensors[name] = t.to(torch::kFloat).contiguous();
  }
  return contents;
}

std::vector<std::pair<std::string, torch::Tensor>> ModuleStateDict(
    const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    state.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    state.emplace_back(item.key(), item.value());
  return state;
}

absl::Status LoadModuleState(torch::nn::Module& module,
                             const std::map<std::string, torch::Tensor>& tensors,
                             const std::string& source) {
  auto state = ModuleStateDict(module);
  std::vector<std::string> missing;
  std::set<std::string> expected;
  for (const auto& [name, target] : state) {
    expected.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      missing.push_back(
          absl::StrCat("'", name, "' (expected shape ", ShapeString(target.sizes()), ")"));
      continue;
    }
    if (it->second.sizes() != target.sizes()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", source, ": tensor '", name, "': shape mismatch: expected ",
                       ShapeString(target.sizes()), ", found ", ShapeString(it->second.sizes())));
    }
  }
  if (!missing.empty()) {
    const size_t shown = std::min<size_t>(missing.size(), 5);
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint ", source, ": ", missing.size(),
        " missing tensor(s): ", absl::StrJoin(missing.begin(), missing.begin() + shown, ", "),
        missing.size() > shown ? ", ..." : ""));
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : tensors) {
    if (expected.count(name) == 0) unexpected.push_back(absl::StrCat("'", name, "'"));
  }
  if (!unexpected.empty()) {
    const size_t shown = std::min<size_t>(unexpected.size(), 5);
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint ", source, ": ", unexpected.size(),
                     " unexpected tensor(s) (model/config mismatch?): ",
                     absl::StrJoin(unexpected.begin(), unexpected.begin() + shown, ", "),
                     unexpected.size() > shown ? ", ..." : ""));
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : state) target.copy_(tensors.at(name));
  return absl::OkStatus();
}

absl::Status CopyModuleState(const torch::nn::Module& from, torch::nn::Module& to,
                             const std::string& source) {
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, tensor] : ModuleStateDict(from)) tensors[name] = tensor;
  return LoadModuleState(to, tensors, source);
}

MatchingCopy CopyMatchingTensors(const torch::nn::Module& from, torch::nn::Module& to) {
  std::map<std::string, torch::Tensor> source;
  for (auto& [name, tensor] : ModuleStateDict(from)) source[name] = tensor;
  MatchingCopy result;
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : ModuleStateDict(to)) {
    ++result.total;
    auto it = source.find(name);
    if (it == source.end() || it->second.sizes() != target.sizes()) continue;
    target.copy_(it->second);
    ++result.copied;
  }
  return result;
}

}  // namespace vidserve
