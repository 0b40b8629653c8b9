#include "model/mixers/token_mixer.h"

#include "absl/strings/str_cat.h"
#include "model/mixers/loglinear_attention.h"
#include "model/mixers/mesa_net.h"
#include "model/mixers/softmax_attention.h"

namespace vidserve {

absl::StatusOr<std::shared_ptr<TokenMixer>> MakeTokenMixer(const TokenMixerOptions& options) {
  if (options.dim <= 0 || options.num_heads <= 0 || options.dim % options.num_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("token mixer: dim ", options.dim,
                                                   " must be a positive multiple of num_heads ",
                                                   options.num_heads));
  }
  if (options.kind == "softmax") return std::make_shared<SoftmaxAttention>(options);
  if (options.kind == "loglinear") {
    const int64_t chunk = options.loglinear_chunk_size;
    if (chunk <= 0 || (chunk & (chunk - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("loglinear: loglinear_chunk_size must be a power of two, got ", chunk));
    }
    if (options.loglinear_max_levels < 1 || options.loglinear_max_levels > 62) {
      return absl::InvalidArgumentError(
          absl::StrCat("loglinear: loglinear_max_levels must be in [1, 62], got ",
                       options.loglinear_max_levels));
    }
    return std::make_shared<LogLinearAttention>(options);
  }
  if (options.kind == "mesa") {
    if (options.mesa_chunk_size <= 0 || options.mesa_cg_steps <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("mesa: mesa_chunk_size and mesa_cg_steps must be positive, got ",
                       options.mesa_chunk_size, " and ", options.mesa_cg_steps));
    }
    return std::make_shared<MesaNet>(options);
  }
  return absl::InvalidArgumentError(absl::StrCat("mixer: unknown kind \"", options.kind,
                                                 "\"; allowed: softmax, loglinear, mesa"));
}

}  // namespace vidserve
