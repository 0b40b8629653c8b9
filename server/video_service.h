// VideoService: the gRPC front-end (callback API). It converts protos to the model's plain
// types (via request_validation.h) and back, hands work to the Scheduler, and streams
// Generate events; it makes no scheduling decisions itself.
//
//  - Encode/Decode/GetModelInfo: unary, answered from the worker thread through the call's
//    default ServerUnaryReactor.
//  - Generate: one ServerWriteReactor per call, keeping one write in flight and queueing
//    the worker's events (Queued, Progress per step, VideoChunks, Summary) behind it.
//    Cancellation is noted in OnCancel and the scheduler drops the generation at its next
//    step boundary; the reactor finishes only after the scheduler's final callback, so the
//    scheduler never sees a dead observer, and deletes itself in OnDone.
//  - Deadlines: the client's deadline travels with each task (DEADLINE_EXCEEDED when it
//    passes before or, for Generate, during the work).
//
// Thread-safety: thread-safe; gRPC calls the handlers from its own threads.
#ifndef VIDSERVE_SERVER_VIDEO_SERVICE_H_
#define VIDSERVE_SERVER_VIDEO_SERVICE_H_

#include <string>

#include "server/metrics.h"
#include "server/request_validation.h"
#include "server/scheduler.h"
#include "vidserve/v1/video_service.grpc.pb.h"

namespace vidserve {

class VideoService final : public v1::VideoService::CallbackService {
 public:
  struct Options {
    RequestLimits limits;
    int max_batch_size = 8;  // reported in GetModelInfo.limits
    std::string version = "unknown";
  };

  // `scheduler` and `metrics` must outlive the service.
  VideoService(const Options& options, Scheduler* scheduler, Metrics* metrics);

  grpc::ServerUnaryReactor* Encode(grpc::CallbackServerContext* context,
                                   const v1::EncodeRequest* request,
                                   v1::EncodeResponse* response) override;
  grpc::ServerUnaryReactor* Decode(grpc::CallbackServerContext* context,
                                   const v1::DecodeRequest* request,
                                   v1::DecodeResponse* response) override;
  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::GetModelInfoResponse* response) override;

  const Options& options() const { return options_; }
  Scheduler* scheduler() const { return scheduler_; }
  Metrics* metrics() const { return metrics_; }

 private:
  const Options options_;
  Scheduler* const scheduler_;
  Metrics* const metrics_;
};

// Proto conversions of results, shared with tests. float16 output is rounded to nearest even.
void LatentToProto(const Latent& latent, v1::DType dtype, v1::Latent* out);
void VideoClipToProto(const VideoClip& clip, int64_t first_frame, int64_t num_frames,
                      v1::Video* out);

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_VIDEO_SERVICE_H_
