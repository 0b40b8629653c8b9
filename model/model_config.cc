#include "model/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/status_macros.h"

namespace vidserve {
namespace {

const char* const kKnownMixers[] = {"softmax", "loglinear", "mesa"};

// Reads the children of one YAML mapping into typed fields. Every key must be consumed:
// an unknown key is reported (it is almost always a typo that would otherwise silently
// fall back to a default). `prefix` is the dotted path used in error messages.
class MappingReader {
 public:
  MappingReader(const YAML::Node& node, std::string prefix)
      : node_(node), prefix_(std::move(prefix)) {}

  absl::Status CheckIsMapping() const {
    if (!node_.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(Display(), ": expected a mapping"));
    }
    return absl::OkStatus();
  }

  absl::Status Int(const std::string& key, int64_t* out) { return As(key, "an integer", out); }
  absl::Status Double(const std::string& key, double* out) { return As(key, "a number", out); }
  absl::Status Bool(const std::string& key, bool* out) { return As(key, "true or false", out); }

  absl::Status String(const std::string& key, std::string* out) {
    YAML::Node value;
    if (!Find(key, &value)) return absl::OkStatus();
    if (!value.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(Path(key), ": expected a string"));
    }
    *out = value.Scalar();
    return absl::OkStatus();
  }

  absl::Status IntList(const std::string& key, std::vector<int64_t>* out) {
    YAML::Node value;
    if (!Find(key, &value)) return absl::OkStatus();
    if (!value.IsSequence()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path(key), ": expected a list of integers, e.g. [32, 64, 128]"));
    }
    out->clear();
    for (size_t i = 0; i < value.size(); ++i) {
      try {
        out->push_back(value[i].as<int64_t>());
      } catch (const YAML::Exception&) {
        return absl::InvalidArgumentError(absl::StrCat(
            Path(key), "[", i, "]: expected an integer, got '", Scalar(value[i]), "'"));
      }
    }
    return absl::OkStatus();
  }

  // Accepts one string (applies to all) or a list of strings.
  absl::Status DoubleList(const std::string& key, std::vector<double>* out) {
    YAML::Node value;
    if (!Find(key, &value)) return absl::OkStatus();
    if (!value.IsSequence()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path(key), ": expected a list of numbers, e.g. [0.1, -0.3]"));
    }
    out->clear();
    for (size_t i = 0; i < value.size(); ++i) {
      try {
        out->push_back(value[i].as<double>());
      } catch (const YAML::Exception&) {
        return absl::InvalidArgumentError(absl::StrCat(
            Path(key), "[", i, "]: expected a number, got '", Scalar(value[i]), "'"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status StringList(const std::string& key, std::vector<std::string>* out) {
    YAML::Node value;
    if (!Find(key, &value)) return absl::OkStatus();
    out->clear();
    if (value.IsScalar()) {
      out->push_back(value.Scalar());
      return absl::OkStatus();
    }
    if (!value.IsSequence()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path(key), ": expected a string or a list of strings"));
    }
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].IsScalar()) {
        return absl::InvalidArgumentError(absl::StrCat(Path(key), "[", i, "]: expected a string"));
      }
      out->push_back(value[i].Scalar());
    }
    return absl::OkStatus();
  }

  // Returns the child mapping `key` (Null node when absent).
  YAML::Node Child(const std::string& key) {
    YAML::Node value;
    Find(key, &value);
    return value;
  }

  absl::Status CheckNoUnknownKeys() const {
    for (const auto& entry : node_) {
      const std::string key = entry.first.Scalar();
      if (consumed_.count(key) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            Path(key), ": unknown key (check the spelling; see models/presets/tiny.yaml)"));
      }
    }
    return absl::OkStatus();
  }

  std::string Path(const std::string& key) const {
    return prefix_.empty() ? key : absl::StrCat(prefix_, ".", key);
  }

 private:
  // A scalar key read as T; a value that does not convert is an error naming the key, what
  // was expected and what was there.
  template <typename T>
  absl::Status As(const std::string& key, const char* expected, T* out) {
    YAML::Node value;
    if (!Find(key, &value)) return absl::OkStatus();
    try {
      *out = value.as<T>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path(key), ": expected ", expected, ", got '", Scalar(value), "'"));
    }
    return absl::OkStatus();
  }

  bool Find(const std::string& key, YAML::Node* value) {
    consumed_.insert(key);
    if (!node_.IsMap()) return false;
    YAML::Node found = node_[key];
    if (!found.IsDefined() || found.IsNull()) return false;
    *value = found;
    return true;
  }
  static std::string Scalar(const YAML::Node& node) {
    return node.IsScalar() ? node.Scalar() : std::string("<non-scalar>");
  }
  std::string Display() const { return prefix_.empty() ? "<document>" : prefix_; }

  YAML::Node node_;
  std::string prefix_;
  std::set<std::string> consumed_;
};

// Parses an optional section; absent sections keep their defaults.
template <typename ParseFn>
absl::Status ParseSection(MappingReader& parent, const std::string& key, ParseFn parse) {
  YAML::Node node = parent.Child(key);
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  MappingReader reader(node, parent.Path(key));
  VIDSERVE_RETURN_IF_ERROR(reader.CheckIsMapping());
  VIDSERVE_RETURN_IF_ERROR(parse(reader));
  return reader.CheckNoUnknownKeys();
}

absl::Status ParseVae(MappingReader& r, VaeConfig* c) {
  VIDSERVE_RETURN_IF_ERROR(r.Int("in_channels", &c->in_channels));
  VIDSERVE_RETURN_IF_ERROR(r.Int("latent_channels", &c->latent_channels));
  VIDSERVE_RETURN_IF_ERROR(r.IntList("channels", &c->channels));
  VIDSERVE_RETURN_IF_ERROR(r.Int("blocks_per_stage", &c->blocks_per_stage));
  VIDSERVE_RETURN_IF_ERROR(r.Double("thin_width_multiplier", &c->thin_width_multiplier));
  VIDSERVE_RETURN_IF_ERROR(r.Int("thin_stages", &c->thin_stages));
  VIDSERVE_RETURN_IF_ERROR(r.Int("thin_output_patch", &c->thin_output_patch));
  VIDSERVE_RETURN_IF_ERROR(r.Int("thin_latent_res_blocks", &c->thin_latent_res_blocks));
  VIDSERVE_RETURN_IF_ERROR(
      r.Int("thin_upsample_to_next_width", &c->thin_upsample_to_next_width));
  VIDSERVE_RETURN_IF_ERROR(r.DoubleList("latent_mean", &c->latent_mean));
  return r.DoubleList("latent_std", &c->latent_std);
}

absl::Status ParseDenoiser(MappingReader& r, DenoiserConfig* c) {
  VIDSERVE_RETURN_IF_ERROR(r.Int("hidden_dim", &c->hidden_dim));
  VIDSERVE_RETURN_IF_ERROR(r.Int("num_layers", &c->num_layers));
  VIDSERVE_RETURN_IF_ERROR(r.Int("num_heads", &c->num_heads));
  VIDSERVE_RETURN_IF_ERROR(r.Int("mlp_ratio", &c->mlp_ratio));
  VIDSERVE_RETURN_IF_ERROR(r.Int("patch_size", &c->patch_size));
  VIDSERVE_RETURN_IF_ERROR(r.StringList("mixers", &c->mixers));
  VIDSERVE_RETURN_IF_ERROR(r.Int("loglinear_chunk_size", &c->loglinear_chunk_size));
  VIDSERVE_RETURN_IF_ERROR(r.Int("mesa_cg_steps", &c->mesa_cg_steps));
  VIDSERVE_RETURN_IF_ERROR(r.Bool("qk_norm", &c->qk_norm));
  VIDSERVE_RETURN_IF_ERROR(r.Int("text_dim", &c->text_dim));
  VIDSERVE_RETURN_IF_ERROR(r.Int("text_layers", &c->text_layers));
  VIDSERVE_RETURN_IF_ERROR(r.Int("text_heads", &c->text_heads));
  return r.Int("max_prompt_bytes", &c->max_prompt_bytes);
}

absl::Status ParseSampler(MappingReader& r, SamplerConfig* c) {
  VIDSERVE_RETURN_IF_ERROR(r.Int("default_steps", &c->default_steps));
  VIDSERVE_RETURN_IF_ERROR(r.Double("default_guidance", &c->default_guidance));
  VIDSERVE_RETURN_IF_ERROR(r.Double("timestep_shift", &c->timestep_shift));
  VIDSERVE_RETURN_IF_ERROR(r.Double("guidance_min_t", &c->guidance_min_t));
  VIDSERVE_RETURN_IF_ERROR(r.Double("guidance_max_t", &c->guidance_max_t));
  return r.Double("stochasticity", &c->stochasticity);
}

absl::Status ParseLimits(MappingReader& r, ModelLimits* c) {
  VIDSERVE_RETURN_IF_ERROR(r.Int("max_frames", &c->max_frames));
  VIDSERVE_RETURN_IF_ERROR(r.Int("max_height", &c->max_height));
  VIDSERVE_RETURN_IF_ERROR(r.Int("max_width", &c->max_width));
  VIDSERVE_RETURN_IF_ERROR(r.Int("max_steps", &c->max_steps));
  VIDSERVE_RETURN_IF_ERROR(r.Double("max_guidance", &c->max_guidance));
  VIDSERVE_RETURN_IF_ERROR(r.Int("default_frames", &c->default_frames));
  VIDSERVE_RETURN_IF_ERROR(r.Int("default_height", &c->default_height));
  return r.Int("default_width", &c->default_width);
}

absl::Status Invalid(const std::string& key, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

absl::Status CheckPositive(const std::string& key, int64_t value) {
  if (value <= 0) return Invalid(key, absl::StrCat("must be > 0, got ", value));
  return absl::OkStatus();
}

std::vector<std::string> PresetDirectories() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("VIDSERVE_PRESET_DIR"); env != nullptr && *env != '\0') {
    dirs.emplace_back(env);
  }
#ifdef VIDSERVE_PRESET_DIR
  dirs.emplace_back(VIDSERVE_PRESET_DIR);
#endif
  dirs.emplace_back("models/presets");
  return dirs;
}

}  // namespace

std::string ModelConfig::MixerOfLayer(int64_t layer) const {
  if (denoiser.mixers.empty()) return "softmax";
  if (denoiser.mixers.size() == 1) return denoiser.mixers[0];
  if (layer < 0 || layer >= static_cast<int64_t>(denoiser.mixers.size())) return "";
  return denoiser.mixers[layer];
}

absl::StatusOr<ModelConfig> ParseModelConfigYaml(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("model config: YAML syntax error: ", e.what()));
  }
  ModelConfig config;
  MappingReader reader(root, "");
  VIDSERVE_RETURN_IF_ERROR(reader.CheckIsMapping());
  VIDSERVE_RETURN_IF_ERROR(reader.String("name", &config.name));
  VIDSERVE_RETURN_IF_ERROR(reader.String("preset", &config.preset));
  VIDSERVE_RETURN_IF_ERROR(
      ParseSection(reader, "vae", [&](MappingReader& r) { return ParseVae(r, &config.vae); }));
  VIDSERVE_RETURN_IF_ERROR(ParseSection(
      reader, "denoiser", [&](MappingReader& r) { return ParseDenoiser(r, &config.denoiser); }));
  VIDSERVE_RETURN_IF_ERROR(ParseSection(
      reader, "sampler", [&](MappingReader& r) { return ParseSampler(r, &config.sampler); }));
  VIDSERVE_RETURN_IF_ERROR(ParseSection(
      reader, "limits", [&](MappingReader& r) { return ParseLimits(r, &config.limits); }));
  VIDSERVE_RETURN_IF_ERROR(reader.CheckNoUnknownKeys());
  VIDSERVE_RETURN_IF_ERROR(ValidateModelConfig(config));
  return config;
}

absl::StatusOr<ModelConfig> LoadModelConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("model config: cannot open '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseModelConfigYaml(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

absl::StatusOr<ModelConfig> LoadPreset(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("preset: invalid name '", name, "' (a bare name such as 'tiny')"));
  }
  const std::vector<std::string> dirs = PresetDirectories();
  for (const std::string& dir : dirs) {
    const std::filesystem::path path = std::filesystem::path(dir) / (name + ".yaml");
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return LoadModelConfigFile(path.string());
  }
  return absl::NotFoundError(
      absl::StrCat("preset: '", name, "' not found; searched ", absl::StrJoin(dirs, ", "),
                   "; known presets: ", absl::StrJoin(KnownPresets(), ", ")));
}

std::vector<std::string> KnownPresets() {
  std::set<std::string> names;
  for (const std::string& dir : PresetDirectories()) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".yaml") names.insert(it->path().stem().string());
    }
  }
  return {names.begin(), names.end()};
}

std::string ModelConfigToJson(const ModelConfig& c) {
  nlohmann::json j;
  j["name"] = c.name;
  j["preset"] = c.preset;
  j["vae"] = {{"in_channels", c.vae.in_channels},
              {"latent_channels", c.vae.latent_channels},
              {"channels", c.vae.channels},
              {"blocks_per_stage", c.vae.blocks_per_stage},
              {"thin_width_multiplier", c.vae.thin_width_multiplier},
              {"thin_stages", c.vae.thin_stages},
              {"thin_output_patch", c.vae.thin_output_patch},
              {"thin_latent_res_blocks", c.vae.thin_latent_res_blocks},
              {"thin_upsample_to_next_width", c.vae.thin_upsample_to_next_width},
              {"latent_mean", c.vae.latent_mean},
              {"latent_std", c.vae.latent_std}};
  j["denoiser"] = {{"hidden_dim", c.denoiser.hidden_dim},
                   {"num_layers", c.denoiser.num_layers},
                   {"num_heads", c.denoiser.num_heads},
                   {"mlp_ratio", c.denoiser.mlp_ratio},
                   {"patch_size", c.denoiser.patch_size},
                   {"mixers", c.denoiser.mixers},
                   {"loglinear_chunk_size", c.denoiser.loglinear_chunk_size},
                   {"mesa_cg_steps", c.denoiser.mesa_cg_steps},
                   {"qk_norm", c.denoiser.qk_norm},
                   {"text_dim", c.denoiser.text_dim},
                   {"text_layers", c.denoiser.text_layers},
                   {"text_heads", c.denoiser.text_heads},
                   {"max_prompt_bytes", c.denoiser.max_prompt_bytes}};
  j["sampler"] = {{"default_steps", c.sampler.default_steps},
                  {"default_guidance", c.sampler.default_guidance},
                  {"timestep_shift", c.sampler.timestep_shift},
                  {"guidance_min_t", c.sampler.guidance_min_t},
                  {"guidance_max_t", c.sampler.guidance_max_t},
                  {"stochasticity", c.sampler.stochasticity}};
  j["limits"] = {
      {"max_frames", c.limits.max_frames},         {"max_height", c.limits.max_height},
      {"max_width", c.limits.max_width},           {"max_steps", c.limits.max_steps},
      {"max_guidance", c.limits.max_guidance},     {"default_frames", c.limits.default_frames},
      {"default_height", c.limits.default_height}, {"default_width", c.limits.default_width}};
  return j.dump();
}

absl::StatusOr<ModelConfig> ModelConfigFromJson(const std::string& json_text) {
  // JSON is valid YAML 1.2 flow syntax, so after checking the JSON itself the YAML parser
  // (with its key-naming errors and validation) does the rest: one code path, one set of
  // error messages.
  nlohmann::json parsed = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("model config: embedded JSON is not a valid JSON object");
  }
  return ParseModelConfigYaml(parsed.dump());
}

absl::Status ValidateModelConfig(const ModelConfig& c) {
  const VaeConfig& v = c.vae;
  if (v.in_channels != 3) {
    return Invalid("vae.in_channels", absl::StrCat("must be 3 (RGB), got ", v.in_channels));
  }
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("vae.latent_channels", v.latent_channels));
  if (v.channels.size() != 3) {
    return Invalid("vae.channels",
                   absl::StrCat("must list exactly 3 stage widths (8x spatial compression), got ",
                                v.channels.size()));
  }
  for (size_t i = 0; i < v.channels.size(); ++i) {
    VIDSERVE_RETURN_IF_ERROR(CheckPositive(absl::StrCat("vae.channels[", i, "]"), v.channels[i]));
  }
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("vae.blocks_per_stage", v.blocks_per_stage));
  if (!(v.thin_width_multiplier > 0.0 && v.thin_width_multiplier <= 1.0)) {
    return Invalid("vae.thin_width_multiplier",
                   absl::StrCat("must be in (0, 1], got ", v.thin_width_multiplier));
  }
  if (v.thin_stages < 0 || v.thin_stages > static_cast<int64_t>(v.channels.size())) {
    return Invalid("vae.thin_stages",
                   absl::StrCat("must be in [0, ", v.channels.size(), "], got ", v.thin_stages));
  }
  if (v.thin_output_patch != 1 && v.thin_output_patch != 2 && v.thin_output_patch != 4) {
    return Invalid("vae.thin_output_patch",
                   absl::StrCat("must be 1, 2 or 4, got ", v.thin_output_patch));
  }
  if (v.thin_latent_res_blocks < -1 || v.thin_latent_res_blocks > 1 + v.blocks_per_stage) {
    return Invalid("vae.thin_latent_res_blocks",
                   absl::StrCat("must be -1 (all) or in [0, ", 1 + v.blocks_per_stage,
                                "] (the mid block and blocks_per_stage), got ",
                                v.thin_latent_res_blocks));
  }
  const int64_t stages = static_cast<int64_t>(v.channels.size());
  if (v.thin_upsample_to_next_width < 0 || v.thin_upsample_to_next_width > stages - 1) {
    return Invalid("vae.thin_upsample_to_next_width",
                   absl::StrCat("must be in [0, ", stages - 1,
                                "] (stages, the deepest first, but the pixel-level one), got ",
                                v.thin_upsample_to_next_width));
  }
  for (const auto* list : {&v.latent_mean, &v.latent_std}) {
    const char* field = list == &v.latent_mean ? "vae.latent_mean" : "vae.latent_std";
    if (!list->empty() && static_cast<int64_t>(list->size()) != v.latent_channels) {
      return Invalid(field, absl::StrCat("must be empty or have latent_channels (",
                                         v.latent_channels, ") entries, got ", list->size()));
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const double x = (*list)[i];
      const bool ok = std::isfinite(x) && (list == &v.latent_mean || x > 0.0);
      if (!ok) {
        return Invalid(absl::StrCat(field, "[", i, "]"),
                       absl::StrCat(list == &v.latent_mean ? "must be finite" : "must be > 0",
                                    ", got ", x));
      }
    }
  }

  const DenoiserConfig& d = c.denoiser;
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.hidden_dim", d.hidden_dim));
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.num_layers", d.num_layers));
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.num_heads", d.num_heads));
  if (d.hidden_dim % d.num_heads != 0) {
    return Invalid("denoiser.num_heads",
                   absl::StrCat("must divide hidden_dim ", d.hidden_dim, ", got ", d.num_heads));
  }
  if (d.hidden_dim < 6) {
    return Invalid(
        "denoiser.hidden_dim",
        absl::StrCat("must be >= 6 (3D sin-cos position embedding), got ", d.hidden_dim));
  }
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.mlp_ratio", d.mlp_ratio));
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.patch_size", d.patch_size));
  if (d.mixers.size() != 1 && static_cast<int64_t>(d.mixers.size()) != d.num_layers) {
    return Invalid("denoiser.mixers",
                   absl::StrCat("must have 1 entry or num_layers (", d.num_layers,
                                ") entries, got ", d.mixers.size()));
  }
  for (size_t i = 0; i < d.mixers.size(); ++i) {
    if (std::find(std::begin(kKnownMixers), std::end(kKnownMixers), d.mixers[i]) ==
        std::end(kKnownMixers)) {
      return Invalid(
          absl::StrCat("denoiser.mixers[", i, "]"),
          absl::StrCat("unknown mixer '", d.mixers[i], "'; allowed: softmax, loglinear, mesa"));
    }
  }
  if (d.loglinear_chunk_size <= 0 || (d.loglinear_chunk_size & (d.loglinear_chunk_size - 1)) != 0) {
    // The Fenwick levels of the chunkwise form align with power-of-two chunks.
    return Invalid("denoiser.loglinear_chunk_size",
                   absl::StrCat("must be a power of two, got ", d.loglinear_chunk_size));
  }
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.mesa_cg_steps", d.mesa_cg_steps));
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.text_dim", d.text_dim));
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.text_layers", d.text_layers));
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("denoiser.text_heads", d.text_heads));
  if (d.text_dim % d.text_heads != 0) {
    return Invalid("denoiser.text_heads",
                   absl::StrCat("must divide text_dim ", d.text_dim, ", got ", d.text_heads));
  }
  if (d.max_prompt_bytes <= 0 || d.max_prompt_bytes > 65536) {
    return Invalid("denoiser.max_prompt_bytes",
                   absl::StrCat("must be in [1, 65536], got ", d.max_prompt_bytes));
  }

  const ModelLimits& l = c.limits;
  const int64_t spatial_multiple = 8 * d.patch_size;
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("limits.max_frames", l.max_frames));
  if ((l.max_frames - 1) % 4 != 0) {
    return Invalid("limits.max_frames", absl::StrCat("must be 4k+1, got ", l.max_frames));
  }
  for (const auto& [key, value] :
       {std::pair<const char*, int64_t>{"limits.max_height", l.max_height},
        {"limits.max_width", l.max_width}}) {
    if (value <= 0 || value % spatial_multiple != 0) {
      return Invalid(key, absl::StrCat("must be a positive multiple of ", spatial_multiple,
                                       " (8 x patch_size), got ", value));
    }
  }
  VIDSERVE_RETURN_IF_ERROR(CheckPositive("limits.max_steps", l.max_steps));
  if (!(l.max_guidance >= 1.0) || !std::isfinite(l.max_guidance)) {
    return Invalid("limits.max_guidance",
                   absl::StrCat("must be finite and >= 1, got ", l.max_guidance));
  }
  if (l.default_frames <= 0 || (l.default_frames - 1) % 4 != 0 || l.default_frames > l.max_frames) {
    return Invalid("limits.default_frames", absl::StrCat("must be 4k+1 and <= max_frames ",
                                                         l.max_frames, ", got ", l.default_frames));
  }
  if (l.default_height <= 0 || l.default_height % spatial_multiple != 0 ||
      l.default_height > l.max_height) {
    return Invalid("limits.default_height",
                   absl::StrCat("must be a positive multiple of ", spatial_multiple,
                                " and <= max_height ", l.max_height, ", got ", l.default_height));
  }
  if (l.default_width <= 0 || l.default_width % spatial_multiple != 0 ||
      l.default_width > l.max_width) {
    return Invalid("limits.default_width",
                   absl::StrCat("must be a positive multiple of ", spatial_multiple,
                                " and <= max_width ", l.max_width, ", got ", l.default_width));
  }

  return ValidateSamplerConfig(c.sampler, l);
}

absl::Status ValidateSamplerConfig(const SamplerConfig& s, const ModelLimits& l) {
  if (s.default_steps <= 0 || s.default_steps > l.max_steps) {
    return Invalid("sampler.default_steps", absl::StrCat("must be in [1, limits.max_steps ",
                                                         l.max_steps, "], got ", s.default_steps));
  }
  if (!(s.default_guidance >= 0.0 && s.default_guidance <= l.max_guidance)) {
    return Invalid("sampler.default_guidance",
                   absl::StrCat("must be in [0, limits.max_guidance ", l.max_guidance, "], got ",
                                s.default_guidance));
  }
  if (!(s.timestep_shift > 0.0) || !std::isfinite(s.timestep_shift)) {
    return Invalid("sampler.timestep_shift",
                   absl::StrCat("must be finite and > 0, got ", s.timestep_shift));
  }
  if (!(s.guidance_min_t >= 0.0 && s.guidance_min_t <= 1.0)) {
    return Invalid("sampler.guidance_min_t",
                   absl::StrCat("must be in [0, 1], got ", s.guidance_min_t));
  }
  if (!(s.guidance_max_t >= s.guidance_min_t && s.guidance_max_t <= 1.0)) {
    return Invalid("sampler.guidance_max_t",
                   absl::StrCat("must be in [sampler.guidance_min_t ", s.guidance_min_t,
                                ", 1], got ", s.guidance_max_t));
  }
  if (!(s.stochasticity >= 0.0 && s.stochasticity <= kMaxStochasticity)) {
    return Invalid("sampler.stochasticity", absl::StrCat("must be in [0, ", kMaxStochasticity,
                                                         "], got ", s.stochasticity));
  }
  return absl::OkStatus();
}

absl::Status ApplySamplerOverrides(const SamplerOverrides& overrides, const ModelLimits& limits,
                                   SamplerConfig& sampler) {
  SamplerConfig updated = sampler;
  if (overrides.timestep_shift) updated.timestep_shift = *overrides.timestep_shift;
  if (overrides.guidance_min_t) updated.guidance_min_t = *overrides.guidance_min_t;
  if (overrides.guidance_max_t) updated.guidance_max_t = *overrides.guidance_max_t;
  if (overrides.stochasticity) updated.stochasticity = *overrides.stochasticity;
  VIDSERVE_RETURN_IF_ERROR(ValidateSamplerConfig(updated, limits));
  sampler = updated;
  return absl::OkStatus();
}

absl::Status CheckSamplerOverrides(const SamplerOverrides& overrides) {
  SamplerConfig defaults;
  return ApplySamplerOverrides(overrides, ModelLimits{}, defaults);
}

}  // namespace vidserve
