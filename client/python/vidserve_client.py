"""A small typed Python client for the vidserve VideoService.

Wraps the stubs generated from proto/vidserve/v1/video_service.proto (the build writes
them to build/python; put that directory and this one on PYTHONPATH):

    from vidserve_client import VidserveClient
    with VidserveClient("127.0.0.1:50051") as client:
        result = client.generate("a red circle moving right", frames=17,
                                 on_progress=lambda p: print(p.step, p.total_steps))
        print(result.video.frames, result.summary.seed)

Errors are raised as `VidserveError` carrying the gRPC status code and the server's
message (which names the offending field for INVALID_ARGUMENT).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, List, Optional

import grpc

from vidserve.v1 import video_service_pb2 as pb
from vidserve.v1 import video_service_pb2_grpc as pb_grpc

__all__ = ["VidserveClient", "VidserveError", "Video", "Latent", "GenerateResult", "pb"]

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class VidserveError(Exception):
    """A failed call: `code` is a grpc.StatusCode, `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


@dataclasses.dataclass
class Video:
    """uint8 RGB frames, interleaved and frame-major (like vidserve.v1.Video)."""

    frames: int
    height: int
    width: int
    fps: float
    rgb: bytes

    def frame(self, t: int) -> bytes:
        size = self.height * self.width * 3
        return self.rgb[t * size:(t + 1) * size]

    def to_proto(self) -> pb.Video:
        return pb.Video(frames=self.frames, height=self.height, width=self.width,
                        fps=self.fps, rgb=self.rgb)

    @staticmethod
    def from_proto(v: pb.Video) -> "Video":
        return Video(v.frames, v.height, v.width, v.fps or 24.0, bytes(v.rgb))


@dataclasses.dataclass
class Latent:
    """A VAE latent: shape [C, T', H/8, W/8], dtype "float32" | "float16", raw LE bytes."""

    shape: List[int]
    dtype: str
    data: bytes

    def to_proto(self) -> pb.Latent:
        dtype = pb.DTYPE_FLOAT16 if self.dtype == "float16" else pb.DTYPE_FLOAT32
        return pb.Latent(shape=self.shape, dtype=dtype, data=self.data)

    @staticmethod
    def from_proto(l: pb.Latent) -> "Latent":
        return Latent(list(l.shape), "float16" if l.dtype == pb.DTYPE_FLOAT16 else "float32",
                      bytes(l.data))


@dataclasses.dataclass
class GenerateResult:
    video: Video
    summary: pb.Summary
    latent: Optional[Latent]
    progress: List[pb.Progress]


def _decoder(name: Optional[str]) -> int:
    if name is None:
        return pb.DECODER_UNSPECIFIED
    try:
        return {"full": pb.DECODER_FULL, "thin": pb.DECODER_THIN}[name]
    except KeyError:
        raise ValueError(f"decoder must be 'full' or 'thin', got {name!r}") from None


def _parse_health(data: bytes) -> int:
    # HealthCheckResponse is one enum field (tag 1, varint); the Debian grpcio package has
    # no grpc_health module, so decode it by hand rather than add a dependency.
    if not data:
        return 0
    if data[0] != 0x08:
        raise ValueError(f"unexpected health response bytes {data!r}")
    value, shift = 0, 0
    for byte in data[1:]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value


def _health_request(service: str) -> bytes:
    encoded = service.encode()
    if not encoded:
        return b""
    if len(encoded) > 127:
        raise ValueError("service name too long")
    return b"\x0a" + bytes([len(encoded)]) + encoded


class VidserveClient:
    """Thread-safe (gRPC channels are). Use as a context manager or call close()."""

    def __init__(self, target: str = "127.0.0.1:50051", timeout_s: float = 300.0,
                 channel: Optional[grpc.Channel] = None):
        self.target = target
        self.timeout_s = timeout_s
        self._channel = channel or grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
        ])
        self._stub = pb_grpc.VideoServiceStub(self._channel)
        self._health = self._channel.unary_unary(
            _HEALTH_CHECK, request_serializer=_health_request, response_deserializer=_parse_health)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "VidserveClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, fn, request, timeout_s):
        try:
            return fn(request, timeout=timeout_s or self.timeout_s)
        except grpc.RpcError as e:
            raise VidserveError(e.code(), e.details()) from None

    def model_info(self, timeout_s: Optional[float] = None) -> pb.GetModelInfoResponse:
        return self._call(self._stub.GetModelInfo, pb.GetModelInfoRequest(), timeout_s)

    def health(self, service: str = "", timeout_s: Optional[float] = None) -> str:
        """Returns "SERVING", "NOT_SERVING", ... (grpc.health.v1)."""
        return _HEALTH_STATUS.get(self._call(self._health, service, timeout_s), "UNKNOWN")

    def encode(self, video: Video, dtype: str = "float32",
               timeout_s: Optional[float] = None) -> Latent:
        req = pb.EncodeRequest(video=video.to_proto(), latent_dtype=(
            pb.DTYPE_FLOAT16 if dtype == "float16" else pb.DTYPE_FLOAT32))
        return Latent.from_proto(self._call(self._stub.Encode, req, timeout_s).latent)

    def decode(self, latent: Latent, decoder: Optional[str] = None, fps: float = 0.0,
               timeout_s: Optional[float] = None) -> Video:
        req = pb.DecodeRequest(latent=latent.to_proto(), decoder=_decoder(decoder), fps=fps)
        return Video.from_proto(self._call(self._stub.Decode, req, timeout_s).video)

    def generate_stream(self, prompt: str, *, frames: int = 0, height: int = 0, width: int = 0,
                        steps: int = 0, guidance: Optional[float] = None,
                        seed: Optional[int] = None, decoder: Optional[str] = None,
                        fps: float = 0.0, frames_per_chunk: int = 0, return_latent: bool = False,
                        guidance_min_t: Optional[float] = None,
                        guidance_max_t: Optional[float] = None,
                        stochasticity: Optional[float] = None,
                        timeout_s: Optional[float] = None) -> Iterator[pb.GenerateResponse]:
        """The raw event stream (Queued, Progress..., VideoChunk..., Summary).

        guidance_min_t / guidance_max_t / stochasticity: this request's sampler settings
        (None = the model's, see model_info().sampler)."""
        req = pb.GenerateRequest(prompt=prompt, frames=frames, height=height, width=width,
                                 steps=steps, decoder=_decoder(decoder), fps=fps,
                                 frames_per_chunk=frames_per_chunk, return_latent=return_latent)
        if guidance is not None:
            req.guidance = guidance
        if seed is not None:
            req.seed = seed
        if guidance_min_t is not None:
            req.guidance_min_t = guidance_min_t
        if guidance_max_t is not None:
            req.guidance_max_t = guidance_max_t
        if stochasticity is not None:
            req.stochasticity = stochasticity
        try:
            yield from self._stub.Generate(req, timeout=timeout_s or self.timeout_s)
        except grpc.RpcError as e:
            raise VidserveError(e.code(), e.details()) from None

    def generate(self, prompt: str, *, on_progress: Optional[Callable[[pb.Progress], None]] = None,
                 **kwargs) -> GenerateResult:
        """Runs a generation to the end and assembles the video from its chunks."""
        progress: List[pb.Progress] = []
        chunks: List[bytes] = []
        frames = height = width = 0
        summary = None
        for event in self.generate_stream(prompt, **kwargs):
            kind = event.WhichOneof("event")
            if kind == "progress":
                progress.append(event.progress)
                if on_progress:
                    on_progress(event.progress)
            elif kind == "chunk":
                if event.chunk.first_frame != frames:
                    raise VidserveError(grpc.StatusCode.DATA_LOSS,
                                        f"chunk starts at frame {event.chunk.first_frame}, "
                                        f"expected {frames}")
                v = event.chunk.video
                height, width = v.height, v.width
                frames += v.frames
                chunks.append(bytes(v.rgb))
            elif kind == "summary":
                summary = event.summary
        if summary is None:
            raise VidserveError(grpc.StatusCode.DATA_LOSS, "stream ended without a summary")
        video = Video(frames, height, width, summary.fps or 24.0, b"".join(chunks))
        latent = Latent.from_proto(summary.latent) if summary.HasField("latent") else None
        return GenerateResult(video, summary, latent, progress)
