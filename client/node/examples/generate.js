#!/usr/bin/env node
'use strict';
// Generates a clip with the Node client and prints its summary.
//   node client/node/examples/generate.js [HOST:PORT] [prompt] [frames] [height] [width] [steps]
const { VidserveClient } = require('../vidserve_client');

async function main() {
  const [target = '127.0.0.1:50051', prompt = 'a red circle moving right',
    frames = '0', height = '0', width = '0', steps = '0'] = process.argv.slice(2);
  const client = new VidserveClient(target);
  try {
    console.log(`health: ${await client.health()}`);
    const info = await client.modelInfo();
    console.log(`model: ${info.modelName} (preset ${info.preset}, trained ${info.trained})`);
    const { video, summary, progress } = await client.generate(
      { prompt, frames: +frames, height: +height, width: +width, steps: +steps, seed: 7 },
      (p) => console.error(`step ${p.step}/${p.totalSteps} batch ${p.batchSize}`));
    console.log(JSON.stringify({
      frames: video.frames, height: video.height, width: video.width,
      bytes: video.rgb.length, steps: progress.length, seed: summary.seed,
      totalSeconds: summary.totalSeconds,
    }));
  } finally {
    client.close();
  }
}

main().catch((err) => {
  console.error(`error: ${err.code !== undefined ? `code ${err.code}: ` : ''}${err.details || err.message}`);
  process.exit(1);
});
