/**
 * A variational autoencoder on handwritten digits, DeZero's examples/vae.py
 * line by line: a convolutional encoder to a 2-D latent mean and log
 * variance, the reparameterized sample, a decoder with a Deconv2d, the loss
 * (binary cross entropy plus the KL term: the negative ELBO), Adam,
 * batches of 16. Each epoch it prints the mean loss and writes
 * vae_<epoch>.png: the decoder's digits over a 15 x 15 grid of the latent
 * plane (the normal distribution's 5% to 95% quantiles, as DeZero's
 * show_digits), and vae_<epoch>_rec.png: test digits (top rows) and their
 * reconstructions (bottom rows). DeZero trains on all 60,000 digits for 10
 * epochs; an iteration takes about 0.33 s on two CPU cores here, so by
 * default this runs 1 epoch over 4,800 digits drawn at random (300
 * iterations, under two minutes: one blurred digit-like shape everywhere);
 * `--digits 0` trains on all 8,000 npm digits (500 iterations, about 3
 * minutes: 0s, 1s, 7s and 9s, 3s and 8s in their regions of the latent
 * plane), `--epochs` for more.
 *
 * Run: deno run -A examples/vae.ts [--epochs N] [--digits N] [--eager] [--data DIR]
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
import { randomSubset, saveDigits } from "./digits.ts";

const { DataLoader, F, L, Model, datasets, optimizers, random, transforms } = dz;
type Variable = dz.Variable;

const { epochs: maxEpoch, eager, data: dir, digits } = parseExampleArgs({
  name: "vae.ts",
  about: "A VAE learns a 2-D map of digits (DeZero's vae.py); writes vae_<epoch>.png.",
  epochs: 1,
  eager: true,
  data: true,
  digits: 4800,
});
const batchSize = 16;
const latentSize = 2;

class Encoder extends Model {
  conv1 = new L.Conv2d(32, 3, { stride: 1, pad: 1 });
  conv2 = new L.Conv2d(64, 3, { stride: 2, pad: 1 });
  conv3 = new L.Conv2d(64, 3, { stride: 1, pad: 1 });
  conv4 = new L.Conv2d(64, 3, { stride: 1, pad: 1 });
  linear1 = new L.Linear(32);
  linear2 = new L.Linear(latentSize);
  linear3 = new L.Linear(latentSize);

  /** The latent mean and log variance of `x` [N, 1, 28, 28]. */
  override forward(x: Variable): Variable {
    return this.encode(x)[0];
  }

  /** DeZero's Encoder.forward, which returns two Variables. */
  encode(x: Variable | dz.NDArray): [Variable, Variable] {
    let h = F.relu(this.conv1.apply(x));
    h = F.relu(this.conv2.apply(h));
    h = F.relu(this.conv3.apply(h));
    h = F.relu(this.conv4.apply(h));
    h = F.relu(this.linear1.apply(F.flatten(h)));
    return [this.linear2.apply(h), this.linear3.apply(h)];
  }

  /**
   * `zMean + exp(zLogVar) * epsilon`, epsilon ~ N(0, 1): DeZero's sampling as
   * written there (exp of the log variance, not of half of it). epsilon is
   * cast to float32: numpy's float64 draw would turn the decoder's
   * computation to float64 in DeZero, at twice the cost.
   */
  sampling(zMean: Variable, zLogVar: Variable): Variable {
    const epsilon = random.randn(zMean.shape[0], latentSize).astype("float32");
    return F.add(zMean, F.mul(F.exp(zLogVar), epsilon));
  }
}

class Decoder extends Model {
  toShape = [64, 14, 14];
  linear = new L.Linear(64 * 14 * 14);
  deconv = new L.Deconv2d(32, 4, { stride: 2, pad: 1 });
  conv = new L.Conv2d(1, 3, { stride: 1, pad: 1 });

  override forward(z: Variable): Variable {
    let x = F.relu(this.linear.apply(z));
    x = F.reshape(x, [-1, ...this.toShape]);
    x = F.relu(this.deconv.apply(x));
    return F.sigmoid(this.conv.apply(x));
  }
}

class VAE extends Model {
  encoder = new Encoder();
  decoder = new Decoder();

  /** Weight of the KL term (DeZero's argument `C`: usually 1). */
  C = 1.0;
  /** Monte Carlo samples of the latent vector (DeZero's argument `k`). */
  k = 1;

  /** The negative ELBO of `x`: reconstruction cross entropy (k samples) plus C times the KL term. */
  override forward(x: Variable): Variable {
    const { C, k } = this;
    const [zMean, zLogVar] = this.encoder.encode(x);
    let recLoss: Variable | number = 0;
    for (let l = 0; l < k; l++) {
      const z = this.encoder.sampling(zMean, zLogVar);
      const y = this.decoder.apply(z);
      recLoss = F.add(recLoss, F.div(F.binaryCrossEntropy(F.flatten(y), F.flatten(x)), k));
    }
    let klLoss = F.mul(
      F.sub(F.sub(F.add(F.pow(zMean, 2), F.exp(zLogVar)), zLogVar), 1),
      0.5 * C,
    );
    klLoss = F.div(F.sum(klLoss), x.shape[0]);
    return F.add(recLoss, klLoss);
  }
}

/** The normal distribution's quantile function (Acklam's rational approximation, |error| < 1.2e-9). */
function normPpf(p: number): number {
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

random.seed(0);
const vae = new VAE();
const optimizer = new optimizers.Adam().setup(vae);

// pixels / 255 as float32, [1, 28, 28] (DeZero's transform)
const transform = new transforms.Compose([
  new transforms.ToFloat(),
  new transforms.Normalize(0, 255),
]);
const trainSet = randomSubset(await datasets.MNIST.load({ train: true, dir, transform }), digits);
const testSet = await datasets.MNIST.load({ train: false, dir, transform });
const trainLoader = new DataLoader(trainSet, batchSize);

/** One iteration: the loss, its gradient, Adam's update. */
function trainStep(x: dz.NDArray): Variable {
  const loss = vae.apply(x);
  vae.cleargrads();
  loss.backward();
  optimizer.update();
  return loss;
}
const jitted = eager ? null : dz.jit(trainStep);
const step = jitted ?? trainStep;

/** DeZero's show_digits: the decoder over a 15 x 15 grid of the latent plane, as one batch. */
function latentGrid(): dz.NDArray {
  const n = 15;
  const grid = Array.from({ length: n }, (_, i) => normPpf(0.05 + 0.9 * i / (n - 1)));
  const z: number[][] = [];
  for (const yi of grid) for (const xi of grid) z.push([xi, yi]); // row i: yi, column j: xi
  return dz.noGrad(() => vae.decoder.apply(dz.array(z, { dtype: "float32" }))).data;
}

/** 10 test digits above their reconstructions (the latent mean decoded). */
function reconstructions(): dz.NDArray {
  const picks = [[0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]];
  const x = transform(F.getItem(testSet.data, picks).data); // the training data's scaling
  const y = dz.noGrad(() => vae.decoder.apply(vae.encoder.encode(x)[0])).data;
  return dz.array([...x.data, ...y.data], { dtype: "float32" }).reshape(20, 784);
}

console.log(
  `vae: latent ${latentSize}, Adam, batch ${batchSize}, ${maxEpoch} epoch(s) over ` +
    `${trainSet.length} digits, ${eager ? "eager" : "jit"}`,
);
for (let epoch = 1; epoch <= maxEpoch; epoch++) {
  const start = performance.now();
  let sum = 0;
  for (const [x] of trainLoader) {
    sum += step(x).data.item();
    if (trainLoader.iteration % 10 === 0) { // DeZero's progress line: the epoch's mean so far
      const detail = epoch - 1 + trainLoader.iteration / trainLoader.maxIter;
      console.log(`epoch: ${detail.toFixed(2)}, loss: ${(sum / trainLoader.iteration).toFixed(4)}`);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const grid = await saveDigits(`vae_${epoch}.png`, latentGrid(), 15, 1);
  const rec = await saveDigits(`vae_${epoch}_rec.png`, reconstructions(), 10, 2);
  console.log(
    `epoch ${epoch}  loss ${(sum / trainLoader.maxIter).toFixed(4)}  ` +
      `${seconds.toFixed(2)} s/epoch  wrote ${grid} and ${rec}`,
  );
}
if (jitted) {
  const s = jitted.stats();
  console.log(
    `jit: ${s.traces} trace(s), ${s.kernels} kernels, ${s.fallbacks} eager fallbacks` +
      (s.fallbacks ? ` (${s.fallbackOps.join(", ")})` : ""),
  );
}
