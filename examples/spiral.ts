/**
 * Classifying the spiral, DeZero step 48: an MLP (2 -> 10 -> 3, sigmoid)
 * trained with SGD, lr 1.0, mini-batches of 30, 300 epochs, softmax cross
 * entropy. Prints the mean loss every 10 epochs and the final training
 * accuracy, and writes spiral.svg: the loss curve and the decision regions.
 *
 * Run: deno run -A examples/spiral.ts [--epochs N] [--eager] (--help lists them)
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
import { legend, savePlots } from "./plot.ts";

const { DataLoader, F, MLP, datasets, noGrad, optimizers } = dz;

const { epochs: maxEpoch, eager } = parseExampleArgs({
  name: "spiral.ts",
  about: "An MLP classifies the 3-arm spiral (DeZero step 48); writes spiral.svg.",
  epochs: 300,
  eager: true,
});
const mode = eager ? "eager" : "jit"; // training steps run under the JIT unless --eager

const batchSize = 30;
const hiddenSize = 10;
const lr = 1.0;

const train = new datasets.Spiral({ train: true }); // seeds the generator (1984)
const loader = new DataLoader(train, batchSize);
const model = new MLP([hiddenSize, 3]);
const optimizer = new optimizers.SGD(lr).setup(model);

/** One training iteration on a batch; returns the loss. */
function trainStep(x: dz.NDArray, t: dz.NDArray): dz.Variable {
  const loss = F.softmaxCrossEntropy(model.apply(x), t);
  model.cleargrads();
  loss.backward();
  optimizer.update();
  return loss;
}
const step = eager ? trainStep : dz.jit(trainStep);

console.log(
  `spiral: MLP 2-10-3 sigmoid, SGD lr ${lr}, batch ${batchSize}, ${maxEpoch} epochs, ${mode}`,
);
const losses: { epoch: number; loss: number }[] = [];
let elapsed = 0;
for (let epoch = 1; epoch <= maxEpoch; epoch++) {
  const start = performance.now();
  let sumLoss = 0;
  for (const [x, t] of loader) sumLoss += step(x, t).data.item() * t.size;
  elapsed += performance.now() - start;
  losses.push({ epoch, loss: sumLoss / train.length });
  if (epoch % 10 === 0 || epoch === 1) {
    const ms = elapsed / (epoch % 10 === 0 ? 10 : 1);
    console.log(
      `epoch ${String(epoch).padStart(3)}  loss ${(sumLoss / train.length).toFixed(4)}  ${
        ms.toFixed(2)
      } ms/epoch`,
    );
    elapsed = 0;
  }
}

const accuracy = noGrad(() => F.accuracy(model.apply(train.data), train.label)).data.item();
console.log(`train accuracy ${accuracy.toFixed(4)}`);

// Decision regions: the predicted class on a grid, one rectangle per run of equal cells in a row.
const n = 120, lo = -1.1, hi = 1.1, h = (hi - lo) / n;
const centers = dz.arange(n).mul(h).add(lo + h / 2);
const grid = dz.array(
  Array.from(centers.data, (yv) => Array.from(centers.data, (xv) => [xv, yv])).flat(),
);
const predicted = noGrad(() => model.apply(grid)).data.argmax(1).data;
const regions: { x1: number; x2: number; y1: number; y2: number; cls: number }[] = [];
for (let r = 0; r < n; r++) {
  for (let c0 = 0, c = 1; c <= n; c++) {
    if (c === n || predicted[r * n + c] !== predicted[r * n + c0]) {
      const y1 = lo + r * h;
      regions.push({ x1: lo + c0 * h, x2: lo + c * h, y1, y2: y1 + h, cls: predicted[r * n + c0] });
      c0 = c;
    }
  }
}
const points = Array.from(train.label.data, (cls, i) => ({
  x: train.data.data[2 * i],
  y: train.data.data[2 * i + 1],
  cls,
}));
const classes = { domain: [0, 1, 2], range: ["#4e79a7", "#f28e2b", "#59a14f"] };

const path = await savePlots("spiral.svg", (Plot) => [
  {
    width: 420,
    height: 400,
    marginTop: 30,
    x: { label: "epoch" },
    y: { label: "loss", grid: true },
    marks: [
      Plot.line(losses, { x: "epoch", y: "loss", stroke: "crimson" }),
      Plot.text(["mean training loss per epoch"], { frameAnchor: "top", dy: -20 }),
    ],
  },
  {
    width: 480,
    height: 400,
    marginTop: 30,
    marginRight: 90,
    x: { domain: [lo, hi], label: "x[0]", labelAnchor: "center" },
    y: { domain: [lo, hi], label: "x[1]" },
    color: classes,
    marks: [
      Plot.rect(regions, {
        x1: "x1",
        x2: "x2",
        y1: "y1",
        y2: "y2",
        fill: "cls",
        fillOpacity: 0.3,
        shapeRendering: "crispEdges",
      }),
      Plot.dot(points, { x: "x", y: "y", fill: "cls", r: 3 }),
      Plot.text([`decision regions, train accuracy ${accuracy.toFixed(3)}`], {
        frameAnchor: "top",
        dy: -20,
      }),
      legend(
        Plot,
        classes.domain.map((c) => ({ label: `class ${c}`, color: classes.range[c] })),
        14,
      ),
    ],
  },
]);
console.log(`wrote ${path}`);
