/**
 * Recurrent training under the JIT: one epoch of examples/rnn_sin.ts's
 * SimpleRNN (RNN(100), one point at a time, 999 steps) and BetterRNN
 * (LSTM(100), SeqDataLoader batches of 30, 34 steps), truncated BPTT every
 * 30 steps with Adam, eager (each group's baseline, so Deno.bench prints the
 * ratios) and jitted in both styles: a time step inside the book's loop, and
 * a whole window.
 * @module
 */
import * as dz from "../mod.ts";

const { F, L, Model, SeqDataLoader, datasets, jit, optimizers, random } = dz;
type V = dz.Variable;
type NDArray = dz.NDArray;

class SinRNN extends Model {
  rnn: dz.L.RNN | dz.L.LSTM;
  fc = new L.Linear(1);
  constructor(cell: "rnn" | "lstm") {
    super();
    this.rnn = cell === "rnn" ? new L.RNN(100) : new L.LSTM(100);
  }
  forward(x: V): V {
    return this.fc.apply(this.rnn.apply(x));
  }
}

/** An epoch's batches, grouped in windows of 30 (`[steps, batch, 1]` each). */
function data(cell: "rnn" | "lstm"): { steps: [NDArray, NDArray][]; windows: NDArray[][] } {
  random.seed(0);
  const train = new datasets.SinCurve();
  const steps: [NDArray, NDArray][] = cell === "rnn"
    ? [...train].map(([x, t]) => [x.reshape(1, 1), t.reshape(1, 1)])
    : [...new SeqDataLoader(train, 30)];
  const windows: NDArray[][] = [];
  for (let i = 0; i < steps.length; i += 30) {
    const part = steps.slice(i, i + 30);
    const stack = (k: 0 | 1) => dz.array(part.map((s) => s[k].toArray() as number[][]));
    windows.push([stack(0), stack(1)]);
  }
  return { steps, windows };
}

/** An epoch of one style: `eager`, a jitted `step`, or a jitted `window`. */
function trainer(cell: "rnn" | "lstm", style: "eager" | "step" | "window"): () => void {
  const { steps, windows } = data(cell);
  const model = new SinRNN(cell);
  const opt = new optimizers.Adam().setup(model);
  const timeStep = (x: V | NDArray, t: V | NDArray) => F.meanSquaredError(model.apply(x), t);
  const update = (loss: V) => {
    model.cleargrads();
    loss.backward();
    loss.unchainBackward();
    opt.update();
  };
  if (style === "window") {
    const window = jit((xs: NDArray, ts: NDArray) => {
      let loss = timeStep(F.getItem(xs, 0), F.getItem(ts, 0));
      for (let s = 1; s < xs.shape[0]; s++) {
        loss = F.add(loss, timeStep(F.getItem(xs, s), F.getItem(ts, s)));
      }
      update(loss);
      return loss;
    });
    return () => {
      model.rnn.resetState();
      for (const [xs, ts] of windows) window(xs, ts).data.item();
    };
  }
  const step = style === "step" ? jit(timeStep) : timeStep;
  return () => {
    model.rnn.resetState();
    let loss: V | null = null;
    steps.forEach(([x, t], i) => {
      const term = step(x, t);
      loss = loss === null ? term : F.add(loss, term);
      if (i % 30 === 29 || i === steps.length - 1) update(loss);
    });
    loss!.data.item();
  };
}

for (const cell of ["rnn", "lstm"] as const) {
  for (const style of ["eager", "step", "window"] as const) {
    const epoch = trainer(cell, style);
    epoch(); // traces (and draws the lazy weights)
    epoch();
    Deno.bench(`${cell} epoch ${style === "eager" ? "eager" : `jit ${style}`}`, {
      group: cell,
      baseline: style === "eager",
      n: cell === "rnn" ? 10 : 20,
      warmup: 2,
    }, epoch);
  }
}
