#include "train/training_stage.h"

namespace vidserve::train {

NamedTensors PrefixedParameters(const std::string& prefix, const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    out.emplace_back(prefix + "." + item.key(), item.value());
  }
  return out;
}

ClipBatch HeldOutBatch(const DataOptions& data, int count) {
  data::SyntheticClipOptions synthetic;
  synthetic.frames = data.frames;
  synthetic.height = data.height;
  synthetic.width = data.width;
  ClipBatch batch;
  std::vector<torch::Tensor> clips;
  for (uint64_t seed : data::HeldOutSeeds(count)) {
    const data::ClipSpec spec = data::SampleSpec(seed, synthetic);
    clips.push_back(VideoToTensor(data::Render(spec)));
    batch.captions.push_back(data::Caption(spec));
  }
  batch.pixels = torch::stack(clips);
  return batch;
}

}  // namespace vidserve::train
