/**
 * A neural network fits a sine, DeZero steps 43-45: a two-layer network
 * (1 -> 10 -> 1, sigmoid) trained on y = sin(2 pi x) + noise by SGD with
 * lr 0.2 for 10,000 iterations (full-batch epochs). Prints the loss every
 * 1000 iterations and writes nn_sin.svg: the data points and the fitted curve.
 *
 * Run: deno run -A examples/nn_sin.ts [--epochs N] [--eager] (--help lists them)
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
import { savePlots } from "./plot.ts";

const { F, L, Model, noGrad, optimizers, random } = dz;
type Variable = dz.Variable;

const { epochs: maxIter, eager } = parseExampleArgs({
  name: "nn_sin.ts",
  about: "A 1-10-1 network fits y = sin(2 pi x) + noise (DeZero steps 43-45); writes nn_sin.svg.",
  epochs: 10000,
  eager: true,
});
const mode = eager ? "eager" : "jit"; // training steps run under the JIT unless --eager

random.seed(0);
const x = random.rand(100, 1);
const y = F.sin(x.mul(2 * Math.PI)).data.add(random.rand(100, 1));

class TwoLayerNet extends Model {
  l1: dz.L.Linear;
  l2: dz.L.Linear;
  constructor(hiddenSize: number, outSize: number) {
    super();
    this.l1 = new L.Linear(hiddenSize);
    this.l2 = new L.Linear(outSize);
  }
  forward(x: Variable): Variable {
    return this.l2.apply(F.sigmoid(this.l1.apply(x)));
  }
}

const lr = 0.2;
const model = new TwoLayerNet(10, 1);
const optimizer = new optimizers.SGD(lr).setup(model);

/** One training iteration; returns the loss. */
function trainStep(x: dz.NDArray, y: dz.NDArray): Variable {
  const loss = F.meanSquaredError(y, model.apply(x));
  model.cleargrads();
  loss.backward();
  optimizer.update();
  return loss;
}
const step = eager ? trainStep : dz.jit(trainStep);

console.log(`nn_sin: 1-10-1 sigmoid net, SGD lr ${lr}, ${maxIter} iterations, ${mode}`);
let start = performance.now();
let loss = 0;
for (let i = 0; i < maxIter; i++) {
  loss = step(x, y).data.item();
  if (i % 1000 === 999 || i === 0 || i === maxIter - 1) {
    const ms = performance.now() - start;
    console.log(`iter ${String(i + 1).padStart(5)}  loss ${loss.toFixed(6)}  ${ms.toFixed(0)} ms`);
    start = performance.now();
  }
}
console.log(`final loss ${loss.toFixed(6)}`);

const grid = dz.arange(0, 1, 0.01).reshape(-1, 1);
const fitted = noGrad(() => model.apply(grid)).data;
const points = Array.from(x.data, (xi, i) => ({ x: xi, y: y.data[i] }));
const curve = Array.from(grid.data, (xi, i) => ({ x: xi, y: fitted.data[i] }));
const path = await savePlots("nn_sin.svg", (Plot) => [{
  width: 560,
  height: 400,
  marginTop: 30,
  x: { label: "x" },
  y: { label: "y" },
  marks: [
    Plot.dot(points, { x: "x", y: "y", r: 3, fill: "steelblue", fillOpacity: 0.7 }),
    Plot.line(curve, { x: "x", y: "y", stroke: "crimson", strokeWidth: 2 }),
    Plot.text(["data (dots) and the fitted network (line)"], { frameAnchor: "top", dy: -20 }),
  ],
}]);
console.log(`wrote ${path}`);
