/**
 * Builds what the demo pages load: dist/dezero.js (the library bundle, for
 * the spiral page) and, for the CSP page, build/: the spiral data
 * (spiral.json) and two modules exported from jitted functions,
 * spiral_step.js (a training step: MLP 2-10-3, softmax cross entropy,
 * Adam) and spiral_predict.js (the model's scores for the 300 points).
 *
 * Run: deno run -A examples/web/build.ts
 * @module
 */
import * as dz from "../../mod.ts";
import { bundleLibrary } from "../../tools/bundle.ts";
import { BATCH } from "./train.js";

const { F, MLP, datasets, noGrad, optimizers } = dz;

/** Where the CSP page's files go. */
export const BUILD = new URL("./build/", import.meta.url);

/** Writes dist/ and examples/web/build/; returns the CSP page's files' paths. */
export async function buildDemo(): Promise<{ step: string; predict: string; data: string }> {
  await bundleLibrary(new URL("../../dist", import.meta.url).pathname);
  await Deno.mkdir(BUILD, { recursive: true });
  const train = new datasets.Spiral({ train: true }); // seeds the generator (1984)
  const x = train.data, t = train.label;
  const data = { x: Array.from(x.data), t: Array.from(t.data) };
  const paths = {
    step: new URL("spiral_step.js", BUILD).pathname,
    predict: new URL("spiral_predict.js", BUILD).pathname,
    data: new URL("spiral.json", BUILD).pathname,
  };
  await Deno.writeTextFile(paths.data, JSON.stringify(data));

  const model = new MLP([10, 3]);
  const optimizer = new optimizers.Adam(0.05).setup(model);
  const xb = new dz.NDArray(x.data.slice(0, 2 * BATCH), [BATCH, 2]);
  const tb = new dz.NDArray(t.data.slice(0, BATCH), [BATCH]);
  noGrad(() => model.apply(xb)); // draws the weights (Linear's lazy inSize)
  const step = dz.jit(function spiralStep(x: dz.NDArray, t: dz.NDArray) {
    const loss = F.softmaxCrossEntropy(model.apply(x), t);
    model.cleargrads();
    loss.backward();
    optimizer.update();
    return loss;
  });
  const predict = dz.jit(function spiralPredict(x: dz.NDArray) {
    return noGrad(() => model.apply(x));
  });
  step(xb, tb); // the tape to export (one step taken: the state as at export)
  predict(x);
  await step.export({ model, path: paths.step });
  await predict.export({ model, path: paths.predict });
  return paths;
}

if (import.meta.main) {
  const paths = await buildDemo();
  console.log(`wrote dist/dezero.js, ${Object.values(paths).join(", ")}`);
}
