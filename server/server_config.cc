#include "server/server_config.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/video_types.h"
#include "yaml-cpp/yaml.h"

namespace vidserve {
namespace {

constexpr int kMaxBatchSizeLimit = 256;
constexpr int64_t kMaxQueueDelayUsLimit = 10'000'000;  // 10 s: longer is a misconfiguration
constexpr int kMaxQueueSizeLimit = 1'000'000;
constexpr int64_t kMinMessageBytes = 1024;
constexpr int64_t kMaxMessageBytes = std::numeric_limits<int32_t>::max();  // gRPC takes an int

absl::Status KeyError(const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", what));
}

std::string Join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : absl::StrCat(prefix, ".", key);
}

absl::Status ReadString(const YAML::Node& node, const std::string& key, std::string* out) {
  if (node.IsNull()) {
    out->clear();
    return absl::OkStatus();
  }
  if (!node.IsScalar()) return KeyError(key, "must be a string");
  *out = node.Scalar();
  return absl::OkStatus();
}

absl::Status ReadInt(const YAML::Node& node, const std::string& key, int64_t* out) {
  if (!node.IsScalar()) return KeyError(key, "must be an integer");
  if (!absl::SimpleAtoi(node.Scalar(), out)) {
    return KeyError(key, absl::StrCat("must be an integer, got \"", node.Scalar(), "\""));
  }
  return absl::OkStatus();
}

absl::Status ReadDouble(const YAML::Node& node, const std::string& key, double* out) {
  if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), out)) {
    return KeyError(key, absl::StrCat("must be a number, got \"",
                                      node.IsScalar() ? node.Scalar() : "<non-scalar>", "\""));
  }
  return absl::OkStatus();
}

absl::Status ReadBool(const YAML::Node& node, const std::string& key, bool* out) {
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, *out)) {
    return KeyError(key, absl::StrCat("must be true or false, got \"",
                                      node.IsScalar() ? node.Scalar() : "<non-scalar>", "\""));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ReadIntTo(const YAML::Node& node, const std::string& key, T* out) {
  int64_t value = 0;
  if (absl::Status s = ReadInt(node, key, &value); !s.ok()) return s;
  if (value < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (value > 0 &&
       static_cast<uint64_t>(value) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
    return KeyError(key, absl::StrCat("out of range, got ", value));
  }
  *out = static_cast<T>(value);
  return absl::OkStatus();
}

using FieldReader = std::function<absl::Status(const YAML::Node&, const std::string&)>;

// Reads a mapping whose keys must all be in `fields`; anything else is an unknown key.
absl::Status ReadMap(const YAML::Node& node, const std::string& prefix,
                     const std::map<std::string, FieldReader>& fields) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return KeyError(prefix.empty() ? "<document>" : prefix, "must be a mapping");
  }
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    const std::string key = Join(prefix, name);
    auto it = fields.find(name);
    if (it == fields.end()) {
      std::vector<std::string> known;
      for (const auto& [k, unused] : fields) known.push_back(k);
      return KeyError(key, absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
    if (absl::Status s = it->second(item.second, key); !s.ok()) return s;
  }
  return absl::OkStatus();
}

FieldReader StringField(std::string* out) {
  return
      [out](const YAML::Node& node, const std::string& key) { return ReadString(node, key, out); };
}

template <typename T>
FieldReader IntField(T* out) {
  return
      [out](const YAML::Node& node, const std::string& key) { return ReadIntTo(node, key, out); };
}

FieldReader BoolField(bool* out) {
  return [out](const YAML::Node& node, const std::string& key) { return ReadBool(node, key, out); };
}

FieldReader OptionalDoubleField(std::optional<double>* out) {
  return [out](const YAML::Node& node, const std::string& key) {
    double value = 0;
    if (absl::Status s = ReadDouble(node, key, &value); !s.ok()) return s;
    *out = value;
    return absl::OkStatus();
  };
}

FieldReader MapField(const std::map<std::string, FieldReader>* fields) {
  return [fields](const YAML::Node& node, const std::string& key) {
    return ReadMap(node, key, *fields);
  };
}

absl::Status CheckRange(const std::string& key, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return KeyError(key, absl::StrCat("must be in [", lo, ", ", hi, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckDevice(const std::string& key, const std::string& device) {
  if (device == "auto" || device == "cpu" || device == "cuda") return absl::OkStatus();
  int index = 0;
  if (device.rfind("cuda:", 0) == 0 && absl::SimpleAtoi(device.substr(5), &index) && index >= 0) {
    return absl::OkStatus();
  }
  return KeyError(key, absl::StrCat("must be auto, cpu, cuda or cuda:N, got \"", device, "\""));
}

}  // namespace

absl::Status ParseHostPort(const std::string& key, const std::string& address, std::string* host,
                           int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return KeyError(key, absl::StrCat("must be HOST:PORT, got \"", address, "\""));
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return KeyError(key, absl::StrCat("port must be in [0, 65535], got \"", address, "\""));
  }
  if (host != nullptr) *host = h;
  if (port != nullptr) *port = p;
  return absl::OkStatus();
}

absl::Status ValidateServerConfig(const ServerConfig& c) {
  if (absl::Status s = ParseHostPort("listen", c.listen, nullptr, nullptr); !s.ok()) return s;
  if (!c.metrics_listen.empty()) {
    if (absl::Status s = ParseHostPort("metrics_listen", c.metrics_listen, nullptr, nullptr);
        !s.ok()) {
      return s;
    }
  }
  if (c.model.dir.empty() && c.model.preset.empty()) {
    return KeyError("model.preset", "must be set when model.dir is empty");
  }
  if (absl::Status s = CheckDevice("model.device", c.model.device); !s.ok()) return s;
  if (absl::Status s = CheckRange("model.num_threads", c.model.num_threads, 0, 1024); !s.ok()) {
    return s;
  }
  // Up to 2^30 latent voxels: past the largest clip the model limits allow in one batch.
  if (absl::Status s = CheckRange("model.chunk_latent_voxels", c.model.chunk_latent_voxels, 0,
                                  int64_t{1} << 30);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckRange("model.cuda_graph_cache_size", c.model.cuda_graph_cache_size, 0, 1024);
      !s.ok()) {
    return s;
  }
  if (!ParseDecodePrecision(c.model.decode_precision)) {
    return KeyError("model.decode_precision",
                    absl::StrCat("must be float32, float16 or bfloat16, got \"",
                                 c.model.decode_precision, "\""));
  }
  // The sampler keys' ranges, as far as they do not depend on the checkpoint (a max_t
  // below the checkpoint's own min_t fails when the model loads, naming the key too).
  if (absl::Status s = CheckSamplerOverrides(c.model.sampler); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("model.", s.message()));
  }
  if (absl::Status s =
          CheckRange("scheduler.max_batch_size", c.scheduler.max_batch_size, 1, kMaxBatchSizeLimit);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("scheduler.max_queue_delay_us", c.scheduler.max_queue_delay_us, 0,
                                  kMaxQueueDelayUsLimit);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckRange("scheduler.max_queue_size", c.scheduler.max_queue_size, 1, kMaxQueueSizeLimit);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("scheduler.max_active_generations",
                                  c.scheduler.max_active_generations, 1, 4096);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("limits.max_message_bytes", c.limits.max_message_bytes,
                                  kMinMessageBytes, kMaxMessageBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("drain_timeout_ms", c.drain_timeout_ms, 0, 3'600'000); !s.ok()) {
    return s;
  }
  if (c.warmup_batch_size < 0 || c.warmup_batch_size > c.scheduler.max_batch_size) {
    return KeyError("warmup_batch_size",
                    absl::StrCat("must be in [0, ", c.scheduler.max_batch_size,
                                 "] (0 = automatic, at most scheduler.max_batch_size), got ",
                                 c.warmup_batch_size));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> ParseServerConfigYaml(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config is not valid YAML: ", e.what()));
  }
  ServerConfig c;
  absl::Status status;
  try {
    const std::map<std::string, FieldReader> sampler_fields = {
        {"timestep_shift", OptionalDoubleField(&c.model.sampler.timestep_shift)},
        {"guidance_min_t", OptionalDoubleField(&c.model.sampler.guidance_min_t)},
        {"guidance_max_t", OptionalDoubleField(&c.model.sampler.guidance_max_t)},
        {"stochasticity", OptionalDoubleField(&c.model.sampler.stochasticity)},
    };
    const std::map<std::string, FieldReader> model_fields = {
        {"dir", StringField(&c.model.dir)},
        {"preset", StringField(&c.model.preset)},
        {"device", StringField(&c.model.device)},
        {"num_threads", IntField(&c.model.num_threads)},
        {"chunk_latent_voxels", IntField(&c.model.chunk_latent_voxels)},
        {"init_seed", IntField(&c.model.init_seed)},
        {"cuda_graph_cache_size", IntField(&c.model.cuda_graph_cache_size)},
        {"cudnn_benchmark", BoolField(&c.model.cudnn_benchmark)},
        {"decode_precision", StringField(&c.model.decode_precision)},
        {"decode_channels_last", BoolField(&c.model.decode_channels_last)},
        {"decode_conv2d", BoolField(&c.model.decode_conv2d)},
        {"decode_direct_conv", BoolField(&c.model.decode_direct_conv)},
        {"fused_norm", BoolField(&c.model.fused_norm)},
        {"sampler", MapField(&sampler_fields)},
    };
    const std::map<std::string, FieldReader> scheduler_fields = {
        {"max_batch_size", IntField(&c.scheduler.max_batch_size)},
        {"max_queue_delay_us", IntField(&c.scheduler.max_queue_delay_us)},
        {"max_queue_size", IntField(&c.scheduler.max_queue_size)},
        {"max_active_generations", IntField(&c.scheduler.max_active_generations)},
    };
    const std::map<std::string, FieldReader> limits_fields = {
        {"max_message_bytes", IntField(&c.limits.max_message_bytes)},
    };
    const std::map<std::string, FieldReader> top_fields = {
        {"listen", StringField(&c.listen)},   {"metrics_listen", StringField(&c.metrics_listen)},
        {"model", MapField(&model_fields)},   {"scheduler", MapField(&scheduler_fields)},
        {"limits", MapField(&limits_fields)}, {"drain_timeout_ms", IntField(&c.drain_timeout_ms)},
        {"warmup", BoolField(&c.warmup)},
        {"warmup_batch_size", IntField(&c.warmup_batch_size)},
    };
    status = ReadMap(root, "", top_fields);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
  if (!status.ok()) return status;
  if (absl::Status s = ValidateServerConfig(c); !s.ok()) return s;
  return c;
}

absl::StatusOr<ServerConfig> LoadServerConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config file \"", path, "\" cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ServerConfig> config = ParseServerConfigYaml(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  // A relative model.dir means "beside this file" (as in nginx or Prometheus configs), so
  // the shipped config finds the shipped checkpoint from any working directory.
  const std::filesystem::path dir(config->model.dir);
  if (!config->model.dir.empty() && dir.is_relative()) {
    config->model.dir = (std::filesystem::path(path).parent_path() / dir).lexically_normal().string();
  }
  return config;
}

absl::StatusOr<ServerConfig> ApplyServerConfigOverrides(ServerConfig c,
                                                        const ServerConfigOverrides& o) {
  if (o.listen) c.listen = *o.listen;
  if (o.metrics_listen) c.metrics_listen = *o.metrics_listen;
  if (o.model_dir) c.model.dir = *o.model_dir;
  if (o.device) c.model.device = *o.device;
  if (o.preset) c.model.preset = *o.preset;
  if (o.max_batch_size) c.scheduler.max_batch_size = *o.max_batch_size;
  if (o.max_queue_delay_us) c.scheduler.max_queue_delay_us = *o.max_queue_delay_us;
  if (o.num_threads) c.model.num_threads = *o.num_threads;
  if (absl::Status s = ValidateServerConfig(c); !s.ok()) return s;
  return c;
}

}  // namespace vidserve
