/**
 * Predicting a sine wave, DeZero steps 59 and 60: `--model rnn` is the book's
 * SimpleRNN (RNN(100) + Linear) fed one point at a time, `--model lstm` its
 * BetterRNN (LSTM(100) + Linear) fed batches of 30 parallel streams by
 * SeqDataLoader. Both train with Adam by truncated backpropagation: the loss
 * of 30 steps is backpropagated, then `unchainBackward()` cuts the graph.
 * Prints the mean loss per epoch and writes rnn_sin.svg: the model run on a
 * cosine, its one-step predictions beside the true curve.
 *
 * Training runs under the JIT in one of two styles: `--jit step` (the
 * default) jits one time step (the model and its loss term) inside the
 * book's loop, whose backward then runs through 30 replays; `--jit window`
 * jits a whole window (30 steps, backward, unchain, Adam). `--eager` runs
 * the book's loop as it is.
 *
 * Run: deno run -A examples/rnn_sin.ts [--model rnn|lstm] [--epochs N] [--jit step|window]
 *   [--eager] (--help lists them)
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
import { savePlots } from "./plot.ts";

const { F, L, Model, SeqDataLoader, datasets, noGrad, optimizers, random } = dz;
type Variable = dz.Variable;
type NDArray = dz.NDArray;

const { epochs: maxEpoch, eager, chosen } = parseExampleArgs({
  name: "rnn_sin.ts",
  about: "An RNN or LSTM learns a sine wave (DeZero steps 59-60); writes rnn_sin.svg.",
  epochs: 100,
  eager: true,
  choices: {
    model: { values: ["rnn", "lstm"], about: "SimpleRNN or BetterRNN (LSTM)" },
    jit: { values: ["step", "window"], about: "jit a time step or a whole window" },
  },
});
const cell = chosen.model as "rnn" | "lstm";
const style = eager ? "eager" : chosen.jit;
const hiddenSize = 100;
const bpttLength = 30;
const batchSize = cell === "rnn" ? 1 : 30;

/** SimpleRNN (step 59) and BetterRNN (step 60): a recurrent layer, then Linear. */
class SinRNN extends Model {
  rnn: dz.L.RNN | dz.L.LSTM;
  fc: dz.L.Linear;
  constructor(cell: "rnn" | "lstm", hiddenSize: number, outSize: number) {
    super();
    this.rnn = cell === "rnn" ? new L.RNN(hiddenSize) : new L.LSTM(hiddenSize);
    this.fc = new L.Linear(outSize);
  }
  resetState(): void {
    this.rnn.resetState();
  }
  forward(x: Variable): Variable {
    return this.fc.apply(this.rnn.apply(x));
  }
}

random.seed(0); // the noise of the data and the initial weights
const train = new datasets.SinCurve({ train: true });
// step 59 walks the dataset one point at a time, step 60 goes through SeqDataLoader
const batches: Iterable<[NDArray, NDArray]> = cell === "rnn"
  ? {
    *[Symbol.iterator]() {
      for (const [x, t] of train) yield [x.reshape(1, 1), t];
    },
  }
  : new SeqDataLoader(train, batchSize);
const seqlen = cell === "rnn" ? train.length : (batches as dz.SeqDataLoader).maxIter;
const model = new SinRNN(cell, hiddenSize, 1);
const optimizer = new optimizers.Adam().setup(model);

/** The loss term of one time step. */
function timeStep(x: dz.VariableLike, t: dz.VariableLike): Variable {
  return F.meanSquaredError(model.apply(x), t);
}

/** Backpropagates the loss so far, cuts the graph behind it, updates the weights. */
function update(loss: Variable): void {
  model.cleargrads();
  loss.backward();
  loss.unchainBackward();
  optimizer.update();
}

/** A whole window: the steps of `xs`, `ts` ([T, batch, 1]), then `update`; the window's loss. */
function trainWindow(xs: NDArray, ts: NDArray): Variable {
  let loss = timeStep(F.getItem(xs, 0), F.getItem(ts, 0));
  for (let s = 1; s < xs.shape[0]; s++) {
    loss = F.add(loss, timeStep(F.getItem(xs, s), F.getItem(ts, s)));
  }
  update(loss);
  return loss;
}

/** An epoch as the book writes it; `step` is `timeStep`, jitted or not. Returns the loss sum. */
function bySteps(step: (x: NDArray, t: NDArray) => Variable): number {
  let loss: Variable | number = 0, count = 0;
  for (const [x, t] of batches) {
    loss = F.add(loss, step(x, t));
    count++;
    if (count % bpttLength === 0 || count === seqlen) update(loss);
  }
  return (loss as Variable).data.item();
}

/** An epoch a jitted window at a time. Returns the loss sum. */
function byWindows(window: (xs: NDArray, ts: NDArray) => Variable): number {
  let xs: NDArray[] = [], ts: NDArray[] = [], total = 0, count = 0;
  for (const [x, t] of batches) {
    xs.push(x);
    ts.push(t);
    if (++count % bpttLength === 0 || count === seqlen) {
      total += window(stack(xs), stack(ts)).data.item();
      xs = [];
      ts = [];
    }
  }
  return total;
}

/** Arrays of one shape stacked along a new first axis. */
function stack(arrays: NDArray[]): NDArray {
  return dz.array(arrays.map((a) => a.toArray() as number[][]), { dtype: arrays[0].dtype });
}

const jittedStep = dz.jit(timeStep);
const jittedWindow = dz.jit(trainWindow);
const epoch = style === "eager"
  ? () => bySteps(timeStep)
  : style === "step"
  ? () => bySteps(jittedStep)
  : () => byWindows(jittedWindow);

console.log(
  `rnn_sin: ${cell === "rnn" ? "SimpleRNN" : "BetterRNN (LSTM)"} ${hiddenSize}, ` +
    `batch ${batchSize}, BPTT ${bpttLength}, Adam, ${maxEpoch} epochs, ${style}`,
);
for (let e = 1; e <= maxEpoch; e++) {
  const start = performance.now();
  model.resetState();
  const avg = epoch() / seqlen;
  const ms = performance.now() - start;
  console.log(`epoch ${String(e).padStart(3)}  loss ${avg.toFixed(6)}  ${ms.toFixed(1)} ms`);
}

// the trained model on a cosine, one point at a time (as the book plots it)
const xs = Array.from({ length: 1000 }, (_, i) => Math.cos(4 * Math.PI * i / 999));
model.resetState();
const predictions = noGrad(() =>
  xs.map((x) => model.apply(dz.array([[x]], { dtype: "float64" })).data.item())
);
const curve = (ys: number[]) => ys.map((y, i) => ({ i, y }));
const path = await savePlots("rnn_sin.svg", (Plot) => [{
  width: 640,
  height: 400,
  marginTop: 30,
  x: { label: "x" },
  y: { label: "y" },
  marks: [
    Plot.line(curve(xs), { x: "i", y: "y", stroke: "steelblue", strokeWidth: 1.5 }),
    Plot.line(curve(predictions), { x: "i", y: "y", stroke: "crimson", strokeWidth: 1.5 }),
    Plot.text([`${cell}, ${maxEpoch} epochs: y = cos(x) (blue) and the prediction (red)`], {
      frameAnchor: "top",
      dy: -20,
    }),
  ],
}]);
console.log(`wrote ${path}`);
