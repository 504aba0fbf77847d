/**
 * The spiral page: examples/spiral.ts in the browser, drawing the loss and
 * the decision regions as it trains (one epoch per task, so the page stays
 * live). Leaves its outcome as JSON in #result's data-report (the browser
 * test reads it).
 * @module
 */
import * as dz from "../../dist/dezero.js";
import { drawLoss, drawRegions } from "./draw.js";

const { DataLoader, F, MLP, datasets, noGrad, optimizers } = dz;
const EPOCHS = 300, BATCH = 30, N = 60, LO = -1.1, HI = 1.1;
const out = document.getElementById("result");

try {
  const train = new datasets.Spiral({ train: true });
  const loader = new DataLoader(train, BATCH);
  const model = new MLP([10, 3]);
  const optimizer = new optimizers.SGD(1.0).setup(model);
  const step = dz.jit((x, t) => {
    const loss = F.softmaxCrossEntropy(model.apply(x), t);
    model.cleargrads();
    loss.backward();
    optimizer.update();
    return loss;
  });
  // the grid's cell centres, rows from y = LO up
  const grid = new Float32Array(2 * N * N);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      grid[2 * (r * N + c)] = LO + (c + 0.5) * (HI - LO) / N;
      grid[2 * (r * N + c) + 1] = LO + (r + 0.5) * (HI - LO) / N;
    }
  }
  const classes = (x) => noGrad(() => model.apply(x)).data.argmax(1).data;
  const points = train.data.data, labels = train.label.data;
  const losses = [];
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    let sum = 0;
    for (const [x, t] of loader) sum += step(x, t).data.item() * t.size;
    losses.push(sum / train.length);
    drawLoss(document.getElementById("loss"), losses, EPOCHS);
    if (epoch % 10 === 0 || epoch === 1) {
      drawRegions(
        document.getElementById("regions"),
        classes(new dz.NDArray(grid, [N * N, 2])),
        N,
        LO,
        HI,
        points,
        labels,
      );
    }
    out.textContent = `epoch ${epoch}: loss ${losses.at(-1).toFixed(4)}`;
    await new Promise((resolve) => setTimeout(resolve)); // let the page draw
  }
  const accuracy = noGrad(() => F.accuracy(model.apply(train.data), train.label)).data.item();
  out.textContent = `${EPOCHS} epochs: loss ${losses.at(-1).toFixed(4)}, train accuracy ${
    accuracy.toFixed(4)
  }`;
  out.dataset.report = JSON.stringify({ done: true, loss: losses.at(-1), accuracy });
} catch (e) {
  out.textContent = `failed: ${e}`;
  out.dataset.report = JSON.stringify({ done: false, error: String(e?.stack ?? e) });
}
