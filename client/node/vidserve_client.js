'use strict';
// Node.js client for the vidserve VideoService. Loads the public API from
// ../../proto/vidserve/v1/video_service.proto at run time (no code generation), so it
// always matches the checkout it lives in.
//
//   const { VidserveClient } = require('./vidserve_client');
//   const client = new VidserveClient('127.0.0.1:50051');
//   const { video, summary } = await client.generate({ prompt: 'a red circle', frames: 17 },
//       (p) => console.error(`step ${p.step}/${p.totalSteps}`));
//
// Every method returns a Promise; failures reject with the gRPC error, whose `code`
// (grpc.status) and `details` carry the server's status and message.

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', 'proto');
const PROTO_FILE = 'vidserve/v1/video_service.proto';

const packageDefinition = protoLoader.loadSync(PROTO_FILE, {
  includeDirs: [PROTO_ROOT],
  keepCase: false, // fields in lowerCamelCase: totalSteps, firstFrame, ...
  longs: Number, // int64/uint64 as JS numbers (seeds above 2^53 lose precision; use `longs: String` if you need them exact)
  enums: String,
  defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(packageDefinition).vidserve.v1;

const HEALTH_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

// grpc.health.v1 by hand: HealthCheckRequest{service} and HealthCheckResponse{status} are
// one field each, which is simpler than shipping and loading another .proto.
function encodeHealthRequest(service) {
  const name = Buffer.from(service || '', 'utf8');
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new Error('service name too long');
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

function decodeHealthResponse(buf) {
  if (buf.length === 0) return 'UNKNOWN';
  if (buf[0] !== 0x08) throw new Error(`unexpected health response ${buf.toString('hex')}`);
  return HEALTH_STATUS[buf[1] & 0x7f] || 'UNKNOWN';
}

class VidserveClient {
  constructor(target = '127.0.0.1:50051', { timeoutS = 300 } = {}) {
    this.target = target;
    this.timeoutS = timeoutS;
    const options = {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    };
    this.stub = new v1.VideoService(target, grpc.credentials.createInsecure(), options);
  }

  close() {
    this.stub.close();
  }

  _deadline(timeoutS) {
    return new Date(Date.now() + 1000 * (timeoutS || this.timeoutS));
  }

  _unary(method, request, timeoutS) {
    return new Promise((resolve, reject) => {
      this.stub[method](request, { deadline: this._deadline(timeoutS) }, (err, resp) =>
        err ? reject(err) : resolve(resp));
    });
  }

  modelInfo(timeoutS) {
    return this._unary('getModelInfo', {}, timeoutS);
  }

  health(service = '', timeoutS) {
    return new Promise((resolve, reject) => {
      this.stub.makeUnaryRequest('/grpc.health.v1.Health/Check', encodeHealthRequest,
          decodeHealthResponse, service, { deadline: this._deadline(timeoutS) },
          (err, status) => (err ? reject(err) : resolve(status)));
    });
  }

  // video: {frames, height, width, fps, rgb: Buffer}; resolves to the Latent message.
  encode(video, { dtype = 'DTYPE_FLOAT32', timeoutS } = {}) {
    return this._unary('encode', { video, latentDtype: dtype }, timeoutS).then((r) => r.latent);
  }

  // decoder: 'DECODER_FULL' | 'DECODER_THIN'; resolves to the Video message.
  decode(latent, { decoder = 'DECODER_FULL', fps = 0, timeoutS } = {}) {
    return this._unary('decode', { latent, decoder, fps }, timeoutS).then((r) => r.video);
  }

  // request: GenerateRequest fields in lowerCamelCase; onProgress({step, totalSteps,
  // batchSize}) runs per denoise step. Resolves to {video: {frames, height, width, fps,
  // rgb}, summary, progress: [...]}.
  generate(request, onProgress, timeoutS) {
    return new Promise((resolve, reject) => {
      const call = this.stub.generate(request, { deadline: this._deadline(timeoutS) });
      const chunks = [];
      const progress = [];
      let frames = 0;
      let height = 0;
      let width = 0;
      let summary = null;
      call.on('data', (event) => {
        if (event.progress) {
          progress.push(event.progress);
          if (onProgress) onProgress(event.progress);
        } else if (event.chunk) {
          const v = event.chunk.video;
          if (event.chunk.firstFrame !== frames) {
            call.cancel();
            reject(new Error(`chunk starts at frame ${event.chunk.firstFrame}, expected ${frames}`));
            return;
          }
          frames += v.frames;
          height = v.height;
          width = v.width;
          chunks.push(v.rgb);
        } else if (event.summary) {
          summary = event.summary;
        }
      });
      call.on('error', reject);
      call.on('end', () => {
        if (!summary) {
          reject(new Error('stream ended without a summary'));
          return;
        }
        resolve({
          video: { frames, height, width, fps: summary.fps || 24, rgb: Buffer.concat(chunks) },
          summary,
          progress,
        });
      });
    });
  }
}

module.exports = { VidserveClient, grpc, v1 };
