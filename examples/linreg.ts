/**
 * Linear regression, DeZero step 42 (the seed notes' final program):
 * 100 points y = 5 + 2x + noise, 100 steps of gradient descent, lr 0.1.
 *
 * Run: deno run examples/linreg.ts [--epochs N]
 * @module
 */
import * as dz from "../mod.ts";
import { parseExampleArgs } from "./args.ts";
const { F, Variable, random } = dz;

const { epochs: iters } = parseExampleArgs({
  name: "linreg.ts",
  about: "Linear regression (DeZero step 42): y = 5 + 2x + noise, full-batch gradient descent.",
  epochs: 100,
});

random.seed(0);
const x = new Variable(random.rand(100, 1));
const y = new Variable(random.rand(100, 1).add(x.data.mul(2)).add(5));

const W = new Variable(dz.zeros([1, 1]), "W");
const b = new Variable(dz.zeros([1]), "b");

const predict = (x: dz.Variable) => F.matmul(x, W).add(b);
const meanSquaredError = (x0: dz.Variable, x1: dz.Variable) => {
  const diff = x0.sub(x1);
  return F.sum(diff.pow(2)).div(diff.length);
};

const lr = 0.1;
for (let i = 0; i < iters; i++) {
  const yPred = predict(x);
  const loss = meanSquaredError(y, yPred);
  W.cleargrad();
  b.cleargrad();
  loss.backward();
  W.data.isub(W.grad!.data.mul(lr));
  b.data.isub(b.grad!.data.mul(lr));
  console.log(String(W), String(b), String(loss));
}
