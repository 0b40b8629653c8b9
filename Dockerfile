# syntax=docker/dockerfile:1
# vidserve image: CPU LibTorch from Debian 12, the server and vidserve-cli, non-root.
#
#   docker build -t vidserve .
#   docker run --rm -p 50051:50051 -p 8002:8002 vidserve     # serves the shipped vidserve-tiny
#   docker run --rm -p 50051:50051 -p 8002:8002 -v $PWD/my-models:/models:ro \
#       vidserve --model /models/mine                         # another checkpoint
#
# Arguments after the image name are appended to the default flags below (ENTRYPOINT +
# CMD), so any `vidserve` flag can be added or overridden at `docker run` time.
#
# CUDA variant (A100/H100 nodes): Debian's LibTorch is CPU-only. Build the same two stages
# FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04 / nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04,
# unpack the CUDA LibTorch 2.x zip from pytorch.org to /opt/libtorch, configure with
# -DCMAKE_PREFIX_PATH=/opt/libtorch (VIDSERVE_WITH_CUDA=ON is the default and turns on
# when that LibTorch has CUDA and nvcc is present), copy /opt/libtorch/lib into the runtime
# stage, and run with `--gpus all` (or the nvidia.com/gpu resource on Kubernetes, see
# deploy/k8s/). The gRPC/abseil/yaml/prometheus-cpp packages come from the distribution
# as here (deploy/install-deps.sh supports Ubuntu 24.04; on 22.04 build them from source).
#
# Not built in CI here (no Docker engine on the build machine); the build steps are the
# same commands `make build` runs.

FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN VIDSERVE_DEPS_MINIMAL=1 bash /tmp/install-deps.sh && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIDSERVE_BUILD_TESTS=OFF \
 && cmake --build /build --target vidserve vidserve-cli -j"$(nproc)" \
 && install -D -m 0755 /build/vidserve /build/vidserve-cli -t /out/usr/local/bin \
 && install -D -m 0644 deploy/vidserve.yaml /out/etc/vidserve/vidserve.yaml \
 && mkdir -p /out/opt/vidserve && cp -r models /out/opt/vidserve/models

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# Runtime libraries of the packages install-deps.sh builds against (Debian 12 names).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libtorch1.13 libopenblas0-pthread libgoogle-glog0v6 libgflags2.2 \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libcpp-httplib0.11 \
      libavformat59 libavcodec59 libavutil57 libswscale6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
# Fail the build, not the first start, if a shared library is missing.
RUN ! ldd /usr/local/bin/vidserve /usr/local/bin/vidserve-cli | grep "not found"
RUN groupadd --system --gid 10001 vidserve \
 && useradd --system --uid 10001 --gid vidserve --home-dir /opt/vidserve --shell /usr/sbin/nologin vidserve
USER 10001:10001
WORKDIR /opt/vidserve
# Architecture presets (tiny.yaml, seed.yaml); the build-tree path compiled in does not exist here.
ENV VIDSERVE_PRESET_DIR=/opt/vidserve/models/presets

# gRPC API and Prometheus metrics (/metrics, /healthz).
EXPOSE 50051 8002
# SERVING only after warm-up; the start period covers loading and warming the model on CPU.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["vidserve-cli", "--server", "127.0.0.1:50051", "--timeout_s", "4", "health"]
# SIGTERM: NOT_SERVING, in-flight requests drain (drain_timeout_ms, default 30 s), exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["vidserve", "--config", "/etc/vidserve/vidserve.yaml", \
            "--listen", "0.0.0.0:50051", "--metrics_listen", "0.0.0.0:8002"]
# The image carries models/ (the shipped checkpoint included); the config's relative
# model.dir would resolve under /etc, so the default flags name the checkpoint.
CMD ["--device", "auto", "--model", "/opt/vidserve/models/vidserve-tiny"]
