#include "client/cli/commands.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/convert.h"
#include "client/cli/progress_bar.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "media/file_util.h"
#include "media/latent_file.h"
#include "media/video_file.h"
#include "vidserve/v1/video_service.grpc.pb.h"

namespace vidserve::cli {
namespace {

constexpr uint32_t kMaxUint32 = std::numeric_limits<uint32_t>::max();

std::shared_ptr<grpc::Channel> MakeChannel(const CommonOptions& common) {
  grpc::ChannelArguments args;
  // Videos are large; the server enforces its own limit (GetModelInfo.limits).
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(common.server, grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(const CommonOptions& common, grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::microseconds(static_cast<int64_t>(common.timeout_s * 1e6)));
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK: return "OK";
    case grpc::CANCELLED: return "CANCELLED";
    case grpc::UNKNOWN: return "UNKNOWN";
    case grpc::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND: return "NOT_FOUND";
    case grpc::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::ABORTED: return "ABORTED";
    case grpc::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::INTERNAL: return "INTERNAL";
    case grpc::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::DATA_LOSS: return "DATA_LOSS";
    default: return "UNKNOWN";
  }
}

// Prints a failed RPC. A channel that never became READY means the server was not there
// (connection refused, wrong address, nothing answering before the deadline).
int ReportRpcError(const CommonOptions& common, grpc::Channel* channel, const grpc::Status& s) {
  const grpc_connectivity_state state = channel->GetState(false);
  if ((s.error_code() == grpc::UNAVAILABLE || s.error_code() == grpc::DEADLINE_EXCEEDED) &&
      state != GRPC_CHANNEL_READY) {
    std::fprintf(stderr, "error: cannot reach server at %s: %s\n", common.server.c_str(),
                 s.error_message().c_str());
    return kExitUnreachable;
  }
  std::fprintf(stderr, "error: server returned %s: %s\n", CodeName(s.error_code()),
               s.error_message().c_str());
  return kExitServerError;
}

int ReportFileError(const absl::Status& s) {
  std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
  return kExitFileError;
}

// Rejects an output path we could not write before spending server time on it.
void CheckVideoOutput(const std::string& path) {
  const std::string ext = media::LowerExtension(path);
  if (ext == ".y4m") return;
  if (ext == ".mp4") {
    if (media::HaveMp4Support()) return;
    throw UsageError(absl::StrCat("--out ", path,
                                  ": this vidserve-cli was built without libav, so it writes "
                                  ".y4m only"));
  }
  throw UsageError(absl::StrCat("--out ", path, ": unsupported extension '", ext,
                                "' (use .y4m", media::HaveMp4Support() ? " or .mp4" : "", ")"));
}

void CheckLatentOutput(const std::string& flag, const std::string& path) {
  if (media::LowerExtension(path) != ".latent") {
    throw UsageError(absl::StrCat("--", flag, " ", path, ": expected a .latent file name"));
  }
}

v1::Decoder ParseDecoder(const ArgParser& args) {
  const std::string d = args.GetChoice("decoder", {"full", "thin"}, "");
  if (d == "full") return v1::DECODER_FULL;
  if (d == "thin") return v1::DECODER_THIN;
  return v1::DECODER_UNSPECIFIED;
}

media::VideoWriteOptions WriteOptions(const ArgParser& args) {
  media::VideoWriteOptions o;
  o.y4m_chroma = args.GetChoice("y4m-chroma", {"444", "420"}, "444") == "420"
                     ? media::Y4mChroma::k420
                     : media::Y4mChroma::k444;
  return o;
}

const char* DecoderName(v1::Decoder d) {
  return d == v1::DECODER_THIN ? "thin" : "full";
}

}  // namespace

int RunGenerate(const CommonOptions& common, const ArgParser& args) {
  v1::GenerateRequest req;
  req.set_prompt(args.RequireString("prompt"));
  const std::string out = args.RequireString("out");
  CheckVideoOutput(out);
  const std::string latent_out = args.GetString("latent-out");
  if (!latent_out.empty()) {
    CheckLatentOutput("latent-out", latent_out);
    req.set_return_latent(true);
  }
  // Ranges are the server's business (they depend on the model); the CLI only checks
  // types so the server's INVALID_ARGUMENT message names the field.
  req.set_frames(args.GetInt("frames", 0, kMaxUint32).value_or(0));
  req.set_height(args.GetInt("height", 0, kMaxUint32).value_or(0));
  req.set_width(args.GetInt("width", 0, kMaxUint32).value_or(0));
  req.set_steps(args.GetInt("steps", 0, kMaxUint32).value_or(0));
  if (auto g = args.GetDouble("guidance", -1e9, 1e9)) req.set_guidance(static_cast<float>(*g));
  if (auto t = args.GetDouble("guidance-min-t", -1e9, 1e9)) req.set_guidance_min_t(*t);
  if (auto t = args.GetDouble("guidance-max-t", -1e9, 1e9)) req.set_guidance_max_t(*t);
  if (auto e = args.GetDouble("stochasticity", -1e9, 1e9)) req.set_stochasticity(*e);
  if (auto seed = args.GetUint64("seed")) req.set_seed(*seed);
  req.set_decoder(ParseDecoder(args));
  req.set_fps(args.GetDouble("fps", -1e9, 1e9).value_or(0));
  req.set_frames_per_chunk(args.GetInt("frames-per-chunk", 0, kMaxUint32).value_or(0));
  const media::VideoWriteOptions write_options = WriteOptions(args);

  auto channel = MakeChannel(common);
  auto stub = v1::VideoService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(common, &ctx);
  ProgressBar progress = ProgressBar::ForStderr(!common.quiet);

  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader = stub->Generate(&ctx, req);
  v1::GenerateResponse resp;
  media::VideoFrames video;
  v1::Summary summary;
  bool have_summary = false;
  std::string protocol_error;
  while (reader->Read(&resp)) {
    switch (resp.event_case()) {
      case v1::GenerateResponse::kQueued:
        progress.Queued(resp.queued().queue_position());
        break;
      case v1::GenerateResponse::kProgress:
        progress.Step(resp.progress().step(), resp.progress().total_steps(),
                      resp.progress().batch_size());
        break;
      case v1::GenerateResponse::kChunk: {
        const v1::VideoChunk& chunk = resp.chunk();
        absl::StatusOr<media::VideoFrames> part = FromProto(chunk.video());
        if (!part.ok()) {
          protocol_error = std::string(part.status().message());
          break;
        }
        if (video.frames == 0) {
          video.height = part->height;
          video.width = part->width;
          video.fps = part->fps;
        }
        if (static_cast<int>(chunk.first_frame()) != video.frames ||
            part->height != video.height || part->width != video.width) {
          protocol_error = absl::StrCat("server sent chunk at frame ", chunk.first_frame(),
                                        " of ", part->height, "x", part->width, " after ",
                                        video.frames, " frames of ", video.height, "x",
                                        video.width);
          break;
        }
        video.rgb.insert(video.rgb.end(), part->rgb.begin(), part->rgb.end());
        video.frames += part->frames;
        progress.Frames(video.frames, req.frames());
        break;
      }
      case v1::GenerateResponse::kSummary:
        summary = resp.summary();
        have_summary = true;
        break;
      default:
        break;
    }
    if (!protocol_error.empty()) {
      ctx.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  progress.Finish();
  if (!protocol_error.empty()) {
    std::fprintf(stderr, "error: %s\n", protocol_error.c_str());
    return kExitServerError;
  }
  if (!status.ok()) return ReportRpcError(common, channel.get(), status);
  if (!have_summary || video.frames == 0) {
    std::fprintf(stderr, "error: the stream ended without %s\n",
                 have_summary ? "any video frames" : "a summary");
    return kExitServerError;
  }
  if (summary.fps() > 0) video.fps = summary.fps();

  if (absl::Status s = media::WriteVideoFile(out, video, write_options); !s.ok()) {
    return ReportFileError(s);
  }
  std::printf("wrote %s: %d frames %dx%d @ %g fps, seed %llu, %u steps, guidance %g, %s decoder\n",
              out.c_str(), video.frames, video.height, video.width, video.fps,
              static_cast<unsigned long long>(summary.seed()), summary.steps(),
              summary.guidance(), DecoderName(summary.decoder()));
  std::printf("sampler: guidance for t in [%g, %g], stochasticity %g\n", summary.guidance_min_t(),
              summary.guidance_max_t(), summary.stochasticity());
  std::printf("timings: total %.3fs (queue %.3fs, denoise %.3fs, decode %.3fs), "
              "first frame after %.3fs, max batch %u\n",
              summary.total_seconds(), summary.queue_seconds(), summary.denoise_seconds(),
              summary.decode_seconds(), summary.time_to_first_frame_seconds(),
              summary.max_batch_size());
  if (!latent_out.empty()) {
    if (!summary.has_latent()) {
      std::fprintf(stderr, "error: server did not return the latent for --latent-out\n");
      return kExitServerError;
    }
    absl::StatusOr<media::LatentFile> latent = FromProto(summary.latent(), video.fps);
    if (!latent.ok()) return ReportFileError(latent.status());
    if (absl::Status s = media::WriteLatentFile(latent_out, *latent); !s.ok()) {
      return ReportFileError(s);
    }
    std::printf("wrote %s: shape [%s] %s\n", latent_out.c_str(),
                absl::StrJoin(latent->shape, ", ").c_str(),
                std::string(media::DTypeName(latent->dtype)).c_str());
  }
  return kExitOk;
}

int RunEncode(const CommonOptions& common, const ArgParser& args) {
  const std::string in = args.RequireString("in");
  const std::string out = args.RequireString("out");
  CheckLatentOutput("out", out);
  const std::string dtype = args.GetChoice("dtype", {"float32", "float16"}, "float32");

  absl::StatusOr<media::VideoFrames> video = media::ReadVideoFile(in);
  if (!video.ok()) return ReportFileError(video.status());

  v1::EncodeRequest req;
  ToProto(*video, req.mutable_video());
  req.set_latent_dtype(dtype == "float16" ? v1::DTYPE_FLOAT16 : v1::DTYPE_FLOAT32);
  auto channel = MakeChannel(common);
  auto stub = v1::VideoService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(common, &ctx);
  v1::EncodeResponse resp;
  const grpc::Status status = stub->Encode(&ctx, req, &resp);
  if (!status.ok()) return ReportRpcError(common, channel.get(), status);

  absl::StatusOr<media::LatentFile> latent = FromProto(resp.latent(), video->fps);
  if (!latent.ok()) return ReportFileError(latent.status());
  if (absl::Status s = media::WriteLatentFile(out, *latent); !s.ok()) return ReportFileError(s);
  std::printf("wrote %s: shape [%s] %s from %d frames %dx%d; server %.3fs (batch %u)\n",
              out.c_str(), absl::StrJoin(latent->shape, ", ").c_str(),
              std::string(media::DTypeName(latent->dtype)).c_str(), video->frames,
              video->height, video->width, resp.timings().total_seconds(),
              resp.timings().batch_size());
  return kExitOk;
}

int RunDecode(const CommonOptions& common, const ArgParser& args) {
  const std::string in = args.RequireString("in");
  const std::string out = args.RequireString("out");
  CheckVideoOutput(out);
  const v1::Decoder decoder = ParseDecoder(args);
  const std::optional<double> fps = args.GetDouble("fps", -1e9, 1e9);
  const media::VideoWriteOptions write_options = WriteOptions(args);

  absl::StatusOr<media::LatentFile> latent = media::ReadLatentFile(in);
  if (!latent.ok()) return ReportFileError(latent.status());

  v1::DecodeRequest req;
  ToProto(*latent, req.mutable_latent());
  req.set_decoder(decoder);
  req.set_fps(fps.value_or(latent->fps));
  auto channel = MakeChannel(common);
  auto stub = v1::VideoService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(common, &ctx);
  v1::DecodeResponse resp;
  const grpc::Status status = stub->Decode(&ctx, req, &resp);
  if (!status.ok()) return ReportRpcError(common, channel.get(), status);

  absl::StatusOr<media::VideoFrames> video = FromProto(resp.video());
  if (!video.ok()) return ReportFileError(video.status());
  if (absl::Status s = media::WriteVideoFile(out, *video, write_options); !s.ok()) {
    return ReportFileError(s);
  }
  std::printf("wrote %s: %d frames %dx%d @ %g fps (%s decoder); server %.3fs (batch %u)\n",
              out.c_str(), video->frames, video->height, video->width, video->fps,
              DecoderName(decoder), resp.timings().total_seconds(),
              resp.timings().batch_size());
  return kExitOk;
}

int RunInfo(const CommonOptions& common, const ArgParser& args) {
  (void)args;
  auto channel = MakeChannel(common);
  auto stub = v1::VideoService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(common, &ctx);
  v1::GetModelInfoResponse info;
  const grpc::Status status = stub->GetModelInfo(&ctx, v1::GetModelInfoRequest(), &info);
  if (!status.ok()) return ReportRpcError(common, channel.get(), status);

  const v1::Limits& l = info.limits();
  const v1::Defaults& d = info.defaults();
  std::printf("server:       %s (version %s, torch %s)\n", common.server.c_str(),
              info.version().c_str(), info.torch_version().c_str());
  std::printf("model:        %s\n", info.model_name().c_str());
  std::printf("preset:       %s (known: %s)\n", info.preset().c_str(),
              absl::StrJoin(info.presets(), ", ").c_str());
  std::printf("trained:      %s%s\n", info.trained() ? "yes" : "no (random weights)",
              info.checkpoint().empty() ? "" : absl::StrCat(", checkpoint ", info.checkpoint()).c_str());
  std::printf("devices:      %s\n", absl::StrJoin(info.devices(), ", ").c_str());
  std::printf("mixers:       %s\n", absl::StrJoin(info.mixers(), ", ").c_str());
  std::printf("latent:       %u channels, %ux temporal, %ux spatial compression\n",
              info.latent_channels(), info.temporal_compression(), info.spatial_compression());
  std::printf("parameters:   vae %lld, thin decoder %lld, denoiser %lld\n",
              static_cast<long long>(info.vae_parameters()),
              static_cast<long long>(info.thin_decoder_parameters()),
              static_cast<long long>(info.denoiser_parameters()));
  std::printf("limits:       frames <= %u, height <= %u, width <= %u, steps <= %u, "
              "prompt <= %u bytes, guidance <= %g, batch <= %u, message <= %llu bytes\n",
              l.max_frames(), l.max_height(), l.max_width(), l.max_steps(), l.max_prompt_bytes(),
              l.max_guidance(), l.max_batch_size(),
              static_cast<unsigned long long>(l.max_message_bytes()));
  std::printf("defaults:     frames %u, %ux%u, steps %u, guidance %g, fps %g\n", d.frames(),
              d.height(), d.width(), d.steps(), d.guidance(), d.fps());
  const v1::SamplerSettings& s = info.sampler();
  std::printf("sampler:      guidance for t in [%g, %g], stochasticity %g, timestep shift %g\n",
              s.guidance_min_t(), s.guidance_max_t(), s.stochasticity(), s.timestep_shift());
  const v1::DecodeSettings& decode = info.decode();
  std::printf("decode:       %s%s%s%s\n", decode.precision().c_str(),
              decode.cuda_graphs() ? ", CUDA graphs" : ", eager",
              decode.channels_last() ? ", channels-last" : "", decode.conv2d() ? ", conv2d" : "");
  if (!info.metrics().empty()) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : info.metrics()) parts.push_back(absl::StrCat(k, "=", v));
    std::sort(parts.begin(), parts.end());
    std::printf("metrics:      %s\n", absl::StrJoin(parts, ", ").c_str());
  }
  return kExitOk;
}

int RunHealth(const CommonOptions& common, const ArgParser& args) {
  auto channel = MakeChannel(common);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(common, &ctx);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(args.GetString("service"));
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status status = stub->Check(&ctx, req, &resp);
  if (!status.ok()) return ReportRpcError(common, channel.get(), status);
  std::printf("%s\n", grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()).c_str());
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                         : kExitNotServing;
}

}  // namespace vidserve::cli
