#include "model/mixers/token_mixer.h"

#include "absl/strings/str_cat.h"
#include "model/mixers/softmax_attention.h"

namespace vidserve {

absl::StatusOr<std::shared_ptr<TokenMixer>> MakeTokenMixer(const TokenMixerOptions& options) {
  if (options.dim <= 0 || options.num_heads <= 0 || options.dim % options.num_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("token mixer: dim ", options.dim,
                                                   " must be a positive multiple of num_heads ",
                                                   options.num_heads));
  }
  if (options.kind == "softmax") return std::make_shared<SoftmaxAttention>(options);
  return absl::InvalidArgumentError(absl::StrCat("mixer: unknown kind \"", options.kind,
                                                 "\"; allowed: softmax, loglinear, mesa"));
}

}  // namespace vidserve
