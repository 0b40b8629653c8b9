'use strict';
// Driven by node_client_test.py: exercises client/node/vidserve_client.js against a running
// server and prints one JSON line of facts for the Python side to check.
//   node node_client_check.js SOURCE_DIR HOST:PORT FRAMES HEIGHT WIDTH STEPS
const path = require('path');

async function main() {
  const [sourceDir, target, frames, height, width, steps] = process.argv.slice(2);
  const { VidserveClient, grpc } = require(path.join(sourceDir, 'client', 'node', 'vidserve_client.js'));
  const client = new VidserveClient(target, { timeoutS: 120 });
  const facts = {};
  try {
    facts.health = await client.health();
    const info = await client.modelInfo();
    facts.preset = info.preset;
    facts.latentChannels = info.latentChannels;
    const steps_seen = [];
    const gen = await client.generate(
      { prompt: 'a green triangle', frames: +frames, height: +height, width: +width,
        steps: +steps, seed: 11 },
      (p) => steps_seen.push(p.step));
    facts.steps = steps_seen;
    facts.video = [gen.video.frames, gen.video.height, gen.video.width, gen.video.rgb.length];
    facts.seed = gen.summary.seed;
    // Per-request sampler settings travel as plain request fields.
    const euler = await client.generate(
      { prompt: 'a green triangle', frames: +frames, height: +height, width: +width,
        steps: +steps, seed: 11, guidanceMinT: 0, stochasticity: 0 });
    facts.eulerSampler = [euler.summary.guidanceMinT, euler.summary.guidanceMaxT,
      euler.summary.stochasticity];
    facts.modelSampler = [info.sampler.guidanceMinT, info.sampler.guidanceMaxT,
      info.sampler.stochasticity];
    facts.summarySampler = [gen.summary.guidanceMinT, gen.summary.guidanceMaxT,
      gen.summary.stochasticity];
    const latent = await client.encode(gen.video);
    facts.latentShape = latent.shape;
    const back = await client.decode(latent, { decoder: 'DECODER_THIN' });
    facts.decoded = [back.frames, back.height, back.width, back.rgb.length];
    try {
      await client.generate({ prompt: 'x', frames: 6, height: +height, width: +width, steps: +steps });
      facts.invalid = 'no error';
    } catch (err) {
      facts.invalid = { code: err.code === grpc.status.INVALID_ARGUMENT ? 'INVALID_ARGUMENT' : err.code,
        details: err.details };
    }
  } finally {
    client.close();
  }
  console.log(JSON.stringify(facts));
}

main().catch((err) => {
  console.error(`node client failed: ${err.stack || err}`);
  process.exit(1);
});
