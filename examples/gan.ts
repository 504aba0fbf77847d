/**
 * A DCGAN on handwritten digits, DeZero's examples/gan.py line by line: a
 * generator (Linear, BatchNorm, two Deconv2d) and a discriminator (two
 * Conv2d, BatchNorm, Linear), both `Sequential`s mixing layers with
 * functions (`F.relu`, `F.leakyRelu`, a reshape lambda), weights drawn as
 * `0.02 * randn`, Adam(0.0002, beta1 0.5), batches of 128. Each epoch it
 * prints the mean losses and writes gan_<epoch>.png: 25 digits generated
 * from fixed noise. DeZero trains on all 60,000 digits for 5 epochs; an
 * iteration takes about 3 s on two CPU cores here, so by default this runs
 * 1 epoch over 3,840 digits drawn at random (30 iterations, gray noise
 * still); `--digits 0 --epochs 3` (186 iterations over the 8,000 npm
 * digits, 10 minutes) ends with blotches of strokes, not digits yet.
 *
 * Run: deno run -A examples/gan.ts [--epochs N] [--digits N] [--eager] [--data DIR]
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
import { randomSubset, saveDigits } from "./digits.ts";

const { DataLoader, F, L, Sequential, datasets, optimizers, random, transforms } = dz;

const { epochs: maxEpoch, eager, data: dir, digits } = parseExampleArgs({
  name: "gan.ts",
  about: "A DCGAN learns to draw digits (DeZero's gan.py); writes gan_<epoch>.png.",
  epochs: 1,
  eager: true,
  data: true,
  digits: 3840,
  minDigits: 128, // one whole batch
});
const batchSize = 128;
const hiddenSize = 62;
const [fcChannel, fcHeight, fcWidth] = [128, 7, 7];

random.seed(0);
const gen = new Sequential(
  new L.Linear(1024),
  new L.BatchNorm(),
  F.relu,
  new L.Linear(fcChannel * fcHeight * fcWidth),
  new L.BatchNorm(),
  F.relu,
  (x: dz.Variable) => F.reshape(x, [-1, fcChannel, fcHeight, fcWidth]),
  new L.Deconv2d(fcChannel / 2, 4, { stride: 2, pad: 1 }),
  new L.BatchNorm(),
  F.relu,
  new L.Deconv2d(1, 4, { stride: 2, pad: 1 }),
  F.sigmoid,
);
const dis = new Sequential(
  new L.Conv2d(64, 4, { stride: 2, pad: 1 }),
  F.leakyRelu,
  new L.Conv2d(128, 4, { stride: 2, pad: 1 }),
  new L.BatchNorm(),
  F.leakyRelu,
  F.flatten,
  new L.Linear(1024),
  new L.BatchNorm(),
  F.leakyRelu,
  new L.Linear(1),
  F.sigmoid,
);

/** DeZero's init_weight: one dummy pass sizes the lazy layers, then W = 0.02 * randn. */
function initWeight(): void {
  dis.apply(gen.apply(random.rand(1, hiddenSize).astype("float32")));
  for (const l of [...dis.layers, ...gen.layers]) {
    if (l instanceof L.Conv2d || l instanceof L.Linear || l instanceof L.Deconv2d) {
      l.W.data = random.randn(...l.W.shape).mul(0.02).astype("float32");
    }
  }
}
initWeight();

const optG = new optimizers.Adam(0.0002, 0.5).setup(gen);
const optD = new optimizers.Adam(0.0002, 0.5).setup(dis);

// pixels / 255 as float32, [1, 28, 28] (DeZero's transform)
const transform = new transforms.Compose([
  new transforms.ToFloat(),
  new transforms.Normalize(0, 255),
]);
const trainSet = randomSubset(await datasets.MNIST.load({ train: true, dir, transform }), digits);
const trainLoader = new DataLoader(trainSet, batchSize);

// gan.py's labels are numpy ints, which make the loss float64 (int * float32 is float64 in
// numpy) and so every gradient through the discriminator: float32 labels keep it all float32
const labelReal = dz.ones([batchSize], { dtype: "float32" });
const labelFake = dz.zeros([batchSize], { dtype: "float32" });
const testZ = random.randn(25, hiddenSize).astype("float32");

/** One iteration: the discriminator's update, then the generator's; returns both losses. */
function trainStep(x: dz.NDArray, z: dz.NDArray): [dz.Variable, dz.Variable] {
  // (1) update the discriminator
  const fake = gen.apply(z);
  const yReal = dis.apply(x);
  const yFake = dis.apply(fake.data);
  const lossD = F.add(
    F.binaryCrossEntropy(yReal, labelReal),
    F.binaryCrossEntropy(yFake, labelFake),
  );
  gen.cleargrads();
  dis.cleargrads();
  lossD.backward();
  optD.update();

  // (2) update the generator
  const yFake2 = dis.apply(fake);
  const lossG = F.binaryCrossEntropy(yFake2, labelReal);
  gen.cleargrads();
  dis.cleargrads();
  lossG.backward();
  optG.update();
  return [lossD, lossG];
}
const jitted = eager ? null : dz.jit(trainStep);
const step = jitted ?? trainStep;

console.log(
  `gan: DCGAN, Adam(0.0002, 0.5), batch ${batchSize}, ${maxEpoch} epoch(s) over ` +
    `${trainSet.length} digits, ${eager ? "eager" : "jit"}`,
);
for (let epoch = 1; epoch <= maxEpoch; epoch++) {
  const start = performance.now();
  let sumD = 0, sumG = 0, count = 0;
  for (const [x, t] of trainLoader) {
    if (t.size !== batchSize) continue; // as gan.py: whole batches only
    const z = random.randn(batchSize, hiddenSize).astype("float32");
    const [lossD, lossG] = step(x, z);
    sumD += lossD.data.item();
    sumG += lossG.data.item();
    count++;
    if (count % 5 === 0) { // DeZero's progress line: the epoch's mean losses so far
      const detail = epoch - 1 + trainLoader.iteration / trainLoader.maxIter;
      console.log(
        `epoch: ${detail.toFixed(2)}, loss_g: ${(sumG / count).toFixed(4)}, ` +
          `loss_d: ${(sumD / count).toFixed(4)}`,
      );
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const fakeImages = dz.testMode(() => dz.noGrad(() => gen.apply(testZ)));
  const file = await saveDigits(`gan_${epoch}.png`, fakeImages.data, 5, 2);
  console.log(
    `epoch ${epoch}  loss_g ${(sumG / count).toFixed(4)}  loss_d ${(sumD / count).toFixed(4)}  ` +
      `${count} iterations  ${(seconds / count).toFixed(2)} s/iteration  wrote ${file}`,
  );
}
if (jitted) {
  const s = jitted.stats();
  console.log(
    `jit: ${s.traces} trace(s), ${s.kernels} kernels, ${s.fallbacks} eager fallbacks` +
      (s.fallbacks ? ` (${s.fallbackOps.join(", ")})` : ""),
  );
}
