// Training batches of captioned clips, built ahead of the training step on loader threads.
//
// Batch k always holds the same clips (clip indices k*B .. k*B+B-1), whatever the thread
// count or prefetch depth, so a resumed run sees exactly the data it would have seen:
//  - synthetic data: clip i is the generator's clip for TrainSeed(i), never a held-out seed;
//  - a clip folder: epoch e = i / N visits the folder in a permutation drawn from
//    (data_seed, e).
//
// Thread-safety: not thread-safe; one consumer calls Next(). Loader threads read the
// immutable source and share the epoch permutation cache under its mutex.
#ifndef VIDSERVE_TRAIN_CLIP_BATCHER_H_
#define VIDSERVE_TRAIN_CLIP_BATCHER_H_

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/clip_folder_dataset.h"
#include "data/synthetic_clip_generator.h"
#include "media/video_frames.h"
#include "train/train_options.h"

namespace vidserve::train {

struct ClipBatch {
  torch::Tensor pixels;               // [B, 3, T, H, W] float32 in [-1, 1], CPU
  std::vector<std::string> captions;  // B captions
};

// The synthetic generator's training seed of clip i: i itself unless i is held out, else
// the first of i + k * 2^40 (k = 1, 2, ...) that is not. Distinct for i < 2^40 and never
// held out, so evaluation on held-out seeds never sees training clips.
uint64_t TrainSeed(uint64_t clip_index);

// uint8 RGB frames -> [3, T, H, W] float32 in [-1, 1].
torch::Tensor VideoToTensor(const media::VideoFrames& video);

class ClipBatcher {
 public:
  // Synthetic clips of data.frames x data.height x data.width unless data.clip_folder is
  // set; then the folder's clips, centre-cropped and resized to that size and cut to
  // data.frames frames (clips with fewer frames are an error naming the file).
  static absl::StatusOr<std::unique_ptr<ClipBatcher>> Create(const DataOptions& data,
                                                             int64_t batch_size, uint64_t data_seed);
  ~ClipBatcher();

  // Next batch in order, starting from Seek()'s batch (0 by default).
  absl::StatusOr<ClipBatch> Next();
  // The next Next() returns batch `batch_index`.
  void Seek(int64_t batch_index);
  // Any batch, built on the calling thread (the latent cache and tests).
  absl::StatusOr<ClipBatch> Build(int64_t batch_index) const;
  // A single clip by its index in the run (same mapping as the batches; the source clip
  // is DataOptions::first_clip further on).
  absl::StatusOr<data::CaptionedClip> Clip(int64_t run_clip_index) const;

  // Clips in the source; -1 for the endless synthetic source.
  int64_t source_size() const;

 private:
  ClipBatcher(DataOptions data, int64_t batch_size, uint64_t data_seed,
              std::unique_ptr<data::ClipFolderDataset> folder);

  // Folder clip of clip_index: its position in its epoch's permutation.
  int FolderIndex(int64_t clip_index) const;

  const DataOptions data_;
  const int64_t batch_size_;
  const uint64_t data_seed_;
  const std::unique_ptr<data::ClipFolderDataset> folder_;  // null = synthetic
  data::SyntheticClipOptions synthetic_;
  // The permutation of the most recent epoch asked for (folders only).
  mutable std::mutex epoch_mutex_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int> epoch_order_;
  int64_t next_batch_ = 0;
  std::deque<std::future<absl::StatusOr<ClipBatch>>> in_flight_;  // batches next_batch_, ...
};

}  // namespace vidserve::train

#endif  // VIDSERVE_TRAIN_CLIP_BATCHER_H_
