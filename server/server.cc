#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace vidserve {
namespace {

constexpr char kServiceName[] = "vidserve.v1.VideoService";

absl::StatusOr<std::unique_ptr<VideoModel>> LoadModel(const ServerConfig& config) {
  VideoModel::Options options;
  if (config.model.dir.empty()) {
    absl::StatusOr<ModelConfig> preset = LoadPreset(config.model.preset);
    if (!preset.ok()) {
      return absl::Status(preset.status().code(),
                          absl::StrCat("model.preset: ", preset.status().message()));
    }
    options.config = *preset;
  }
  options.checkpoint_path = config.model.dir;
  options.device = config.model.device;
  options.init_seed = config.model.init_seed;
  options.num_threads = config.model.num_threads;
  options.chunk_latent_voxels = config.model.chunk_latent_voxels;
  options.cuda_graph_cache_size = config.model.cuda_graph_cache_size;
  options.cudnn_benchmark = config.model.cudnn_benchmark;
  // Validated by ValidateServerConfig.
  options.decode_precision =
      ParseDecodePrecision(config.model.decode_precision).value_or(DecodePrecision::kFloat32);
  options.decode_channels_last = config.model.decode_channels_last;
  options.decode_conv2d = config.model.decode_conv2d;
  options.decode_direct_conv = config.model.decode_direct_conv;
  options.fused_norm = config.model.fused_norm;
  options.sampler = config.model.sampler;
  absl::StatusOr<std::unique_ptr<VideoModel>> model = VideoModel::Create(options);
  if (!model.ok() && !config.model.dir.empty()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("model.dir: ", model.status().message()));
  }
  return model;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VidServer>> VidServer::Create(const ServerConfig& config) {
  if (absl::Status s = ValidateServerConfig(config); !s.ok()) return s;
  return std::unique_ptr<VidServer>(new VidServer(config));
}

VidServer::~VidServer() {
  if (started_.load()) Shutdown(absl::ZeroDuration());
}

const ModelInfo& VidServer::model_info() const { return scheduler_->model_info(); }

void VidServer::SetServing(bool serving) {
  serving_.store(serving);
  if (grpc_server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = grpc_server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  health->SetServingStatus(kServiceName, serving);
}

absl::Status VidServer::Start() {
  if (started_.exchange(true)) return absl::FailedPreconditionError("VidServer: started twice");
  const absl::Time start = absl::Now();

  absl::StatusOr<std::unique_ptr<VideoModel>> model = LoadModel(config_);
  if (!model.ok()) return model.status();
  const ModelInfo info = (*model)->info();
  LOG_INFO << "model loaded name=" << info.config.name << " preset=" << info.config.preset
           << " device=" << info.device << " trained=" << (info.trained ? "true" : "false")
           << " checkpoint=\"" << info.checkpoint << "\" vae_parameters=" << info.vae_parameters
           << " denoiser_parameters=" << info.denoiser_parameters
           << " seconds=" << absl::ToDoubleSeconds(absl::Now() - start);
  if (!info.trained) {
    LOG_WARNING << "serving RANDOM weights (no checkpoint given): outputs are noise-like; "
                   "pass --model DIR for a trained checkpoint";
  }

  Metrics::Options metrics_options;
  metrics_options.version = VIDSERVE_VERSION;
  metrics_options.torch_version = TorchVersion();
  const bool on_gpu = info.device.rfind("cuda", 0) == 0;
  metrics_options.cuda = on_gpu ? "true" : "false";
  if (on_gpu) metrics_options.device = info.device;
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create(metrics_options);
  if (!metrics.ok()) return metrics.status();
  metrics_ = std::move(*metrics);

  Scheduler::Options scheduler_options;
  scheduler_options.max_batch_size = config_.scheduler.max_batch_size;
  scheduler_options.max_queue_delay_us = config_.scheduler.max_queue_delay_us;
  scheduler_options.max_queue_size = config_.scheduler.max_queue_size;
  scheduler_options.max_active_generations = config_.scheduler.max_active_generations;
  absl::StatusOr<std::unique_ptr<Scheduler>> scheduler =
      Scheduler::Create(scheduler_options, std::move(*model), metrics_.get());
  if (!scheduler.ok()) return scheduler.status();
  scheduler_ = std::move(*scheduler);

  VideoService::Options service_options;
  service_options.limits =
      RequestLimits::FromModelConfig(info.config, config_.limits.max_message_bytes);
  service_options.max_batch_size = config_.scheduler.max_batch_size;
  service_options.version = VIDSERVE_VERSION;
  service_ = std::make_unique<VideoService>(service_options, scheduler_.get(), metrics_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(service_.get());
  // gRPC enables SO_REUSEPORT by default, which lets a second server silently share a busy
  // port; a taken port must be a startup error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.limits.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.limits.max_message_bytes));
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port_ == 0) {
    grpc_server_.reset();
    return absl::UnavailableError(
        absl::StrCat("listen: cannot bind ", config_.listen, " (address in use?)"));
  }
  SetServing(false);  // until warm-up is done
  LOG_INFO << "grpc listening address=" << config_.listen << " port=" << port_;

  if (!config_.metrics_listen.empty()) {
    MetricsHttpServer::Options http_options;
    http_options.listen = config_.metrics_listen;
    http_options.healthy = [this] { return serving_.load(); };
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Create(http_options, metrics_.get());
    if (!http.ok()) {
      grpc_server_->Shutdown(std::chrono::system_clock::now());
      grpc_server_.reset();
      return http.status();
    }
    metrics_http_ = std::move(*http);
    metrics_port_ = metrics_http_->port();
    LOG_INFO << "metrics listening address=" << config_.metrics_listen << " port=" << metrics_port_
             << " paths=/metrics,/healthz";
  }

  if (config_.warmup) {
    if (absl::Status s = scheduler_->Warmup(config_.warmup_batch_size); !s.ok()) {
      LOG_ERROR << "warm-up failed: " << s;
      scheduler_->Stop();
      grpc_server_->Shutdown(std::chrono::system_clock::now());
      grpc_server_.reset();
      if (metrics_http_ != nullptr) metrics_http_->Stop();
      return s;
    }
  }
  scheduler_->Start();
  SetServing(true);
  LOG_INFO << "serving max_batch_size=" << config_.scheduler.max_batch_size
           << " max_queue_delay_us=" << config_.scheduler.max_queue_delay_us
           << " max_queue_size=" << config_.scheduler.max_queue_size
           << " startup_seconds=" << absl::ToDoubleSeconds(absl::Now() - start);
  return absl::OkStatus();
}

void VidServer::Shutdown(absl::Duration drain_timeout) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc_server_ != nullptr) {
    LOG_INFO << "draining timeout_seconds=" << absl::ToDoubleSeconds(drain_timeout);
    SetServing(false);
    scheduler_->StopAccepting();
    if (!scheduler_->WaitIdle(absl::Now() + drain_timeout)) {
      LOG_WARNING << "drain timeout reached; failing the remaining requests with UNAVAILABLE";
    }
    // Every task has had its completion call after Stop(), so no reactor waits on the
    // scheduler and the gRPC shutdown below cannot hang on one.
    scheduler_->Stop();
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc_server_->Wait();
  }
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  LOG_INFO << "stopped";
  shutdown_done_.Notify();
}

void VidServer::Wait() { shutdown_done_.WaitForNotification(); }

}  // namespace vidserve
