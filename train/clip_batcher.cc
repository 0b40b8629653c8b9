#include "train/clip_batcher.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "data/splitmix64.h"

namespace vidserve::train {
namespace {

// Position-in-epoch -> clip, a Fisher-Yates permutation driven by splitmix64 (std::shuffle's
// output is implementation-defined, which would make runs differ across platforms).
std::vector<int> EpochPermutation(int size, uint64_t seed) {
  std::vector<int> order(size);
  std::iota(order.begin(), order.end(), 0);
  uint64_t state = data::SplitMix64(seed);
  for (int i = size - 1; i > 0; --i) {
    state = data::SplitMix64(state);
    std::swap(order[i], order[state % static_cast<uint64_t>(i + 1)]);
  }
  return order;
}

}  // namespace

uint64_t TrainSeed(uint64_t clip_index) {
  uint64_t seed = clip_index;
  while (data::IsHeldOut(seed)) seed += uint64_t{1} << 40;
  return seed;
}

torch::Tensor VideoToTensor(const media::VideoFrames& video) {
  auto bytes = torch::from_blob(const_cast<uint8_t*>(video.rgb.data()),
                                {video.frames, video.height, video.width, 3}, torch::kUInt8);
  return bytes.permute({3, 0, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0).contiguous();
}

ClipBatcher::ClipBatcher(DataOptions data, int64_t batch_size, uint64_t data_seed,
                         std::unique_ptr<data::ClipFolderDataset> folder)
    : data_(std::move(data)), batch_size_(batch_size), data_seed_(data_seed),
      folder_(std::move(folder)) {
  synthetic_.frames = data_.frames;
  synthetic_.height = data_.height;
  synthetic_.width = data_.width;
}

ClipBatcher::~ClipBatcher() {
  for (auto& f : in_flight_) f.wait();
}

absl::StatusOr<std::unique_ptr<ClipBatcher>> ClipBatcher::Create(const DataOptions& data,
                                                                 int64_t batch_size,
                                                                 uint64_t data_seed) {
  std::unique_ptr<data::ClipFolderDataset> folder;
  if (!data.clip_folder.empty()) {
    data::ClipFolderDataset::Options folder_options;
    folder_options.target_height = data.height;
    folder_options.target_width = data.width;
    folder_options.max_frames = data.frames;
    auto dataset = data::ClipFolderDataset::Create(data.clip_folder, folder_options);
    if (!dataset.ok()) return dataset.status();
    folder = std::move(*dataset);
  } else {
    data::SyntheticClipOptions synthetic;
    synthetic.frames = data.frames;
    synthetic.height = data.height;
    synthetic.width = data.width;
    if (absl::Status s = data::ValidateSyntheticClipOptions(synthetic); !s.ok()) return s;
  }
  return std::unique_ptr<ClipBatcher>(
      new ClipBatcher(data, batch_size, data_seed, std::move(folder)));
}

int64_t ClipBatcher::source_size() const { return folder_ ? folder_->size() : -1; }

absl::StatusOr<data::CaptionedClip> ClipBatcher::Clip(int64_t run_clip_index) const {
  const int64_t clip_index = data_.first_clip + run_clip_index;
  if (folder_ == nullptr) {
    const data::ClipSpec spec = data::SampleSpec(TrainSeed(clip_index), synthetic_);
    data::CaptionedClip clip;
    clip.video = data::Render(spec);
    clip.caption = data::Caption(spec);
    return clip;
  }
  auto clip = folder_->Get(FolderIndex(clip_index));
  if (!clip.ok()) return clip.status();
  if (clip->video.frames != data_.frames) {
    return absl::InvalidArgumentError(absl::StrCat(clip->path, ": has ", clip->video.frames,
                                                   " frames after trimming, training needs ",
                                                   data_.frames));
  }
  return clip;
}

int ClipBatcher::FolderIndex(int64_t clip_index) const {
  const int64_t size = folder_->size();
  const int64_t epoch = clip_index / size;
  std::lock_guard<std::mutex> lock(epoch_mutex_);
  if (epoch != cached_epoch_) {
    // Loader threads work on neighbouring batches, so one epoch's permutation serves
    // nearly every call; it is rebuilt only when the epoch changes.
    epoch_order_ = EpochPermutation(static_cast<int>(size), data_seed_ * 1000003 + epoch);
    cached_epoch_ = epoch;
  }
  return epoch_order_[clip_index % size];
}

absl::StatusOr<ClipBatch> ClipBatcher::Build(int64_t batch_index) const {
  ClipBatch batch;
  std::vector<torch::Tensor> clips;
  for (int64_t b = 0; b < batch_size_; ++b) {
    auto clip = Clip(batch_index * batch_size_ + b);
    if (!clip.ok()) return clip.status();
    clips.push_back(VideoToTensor(clip->video));
    batch.captions.push_back(std::move(clip->caption));
  }
  batch.pixels = torch::stack(clips);
  return batch;
}

void ClipBatcher::Seek(int64_t batch_index) {
  for (auto& f : in_flight_) f.wait();
  in_flight_.clear();
  next_batch_ = batch_index;
}

absl::StatusOr<ClipBatch> ClipBatcher::Next() {
  // Keep loader_threads batches in flight: the one wanted now and those after it.
  while (static_cast<int>(in_flight_.size()) < data_.loader_threads) {
    const int64_t index = next_batch_ + static_cast<int64_t>(in_flight_.size());
    in_flight_.push_back(std::async(std::launch::async, [this, index] { return Build(index); }));
  }
  auto batch = in_flight_.front().get();
  in_flight_.pop_front();
  ++next_batch_;
  return batch;
}

}  // namespace vidserve::train
