/**
 * Tests of `step.export()`: exported modules run without eval (V8's
 * --disallow-code-generation-from-strings) and give the jitted function's
 * results bit for bit; `{ wasm: false }` modules run without WebAssembly and
 * give the library's own no-WebAssembly results; state access by name,
 * hyperparameters, and the clear refusals and errors.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { hostScalar } from "../core/hooks.ts";
import { bits, type ExportCase, inferenceCase, trainingCase } from "./fixtures/export_cases.ts";

const { F, MLP, Parameter, optimizers } = dz;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** What run_exported.ts prints. */
interface Run {
  codegen: boolean;
  wasm: boolean;
  results: string[];
  weights: Record<string, string>;
  hyper: Record<string, Record<string, number>>;
}

/** Runs `deno` with `args`; returns its stdout parsed as JSON. */
async function deno(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Exports `c.fn`, then runs the module in a subprocess on `c.calls`, without eval. */
async function runExported(c: ExportCase, options: { wasm?: boolean } = {}) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/module.js`;
  const code = await c.fn.export({ model: c.model, path, ...options });
  const args = c.calls.map((call) =>
    call.map((a) => ({ dtype: a.dtype, shape: a.shape, values: Array.from(a.data) }))
  );
  await Deno.writeTextFile(`${dir}/args.json`, JSON.stringify(args));
  const noWasm = options.wasm === false ? ["--no-wasm"] : [];
  const run = await deno([
    "run",
    "--v8-flags=--disallow-code-generation-from-strings",
    `--allow-read=${dir}`,
    fixture("run_exported.ts"),
    path,
    `${dir}/args.json`,
    ...noWasm,
  ]);
  await Deno.remove(dir, { recursive: true });
  return { code, run };
}

/** The case's calls run in process (jitted), as run_exported.ts reports them. */
function runHere(c: ExportCase) {
  const results = c.calls.map((args) => bits(c.fn(...args).data.data));
  const weights = Object.fromEntries(
    [...c.model.namedParams()].map(([name, p]) => [name, bits(p.data.data)]),
  );
  return { results, weights };
}

Deno.test("export(): an inference function runs without eval, bit for bit as the jit, over 20 calls", async () => {
  const c = inferenceCase(dz);
  const { code, run } = await runExported(c);
  assert.equal(run.codegen, false); // new Function threw in that process
  const body = code.slice(code.indexOf("\n")); // after the header line
  assert.ok(/\("AGFzbQ/.test(body), "a WebAssembly loop embedded"); // "\0asm", base64
  assert.ok(/WebAssembly\.Instance/.test(body), "the WebAssembly vector kernels embedded");
  assert.ok(!/new Function|eval\(/.test(body));
  const here = runHere(c);
  assert.equal(run.results.length, 20);
  assert.deepEqual(run.results, here.results);
  assert.deepEqual(run.weights, here.weights);
});

Deno.test("export(): an Adam step with dropout runs without eval, bit for bit as the jit, over 20 calls", async () => {
  const c = trainingCase(dz);
  const { run } = await runExported(c);
  assert.equal(run.codegen, false);
  const here = runHere(c);
  assert.deepEqual(run.results, here.results); // losses: the same dropout masks, the same updates
  assert.deepEqual(run.weights, here.weights); // the parameters after 20 updates
  assert.deepEqual(Object.keys(run.weights), ["l0.W", "l0.b", "l1.W", "l1.b"]);
  assert.equal(run.hyper.Adam.t, 21); // the step count went on from the export's 1
  assert.equal(run.hyper.Adam.alpha, 0.01);
});

Deno.test("export({ wasm: false }): runs with WebAssembly deleted, as the library does without it", async () => {
  const c = trainingCase(dz);
  const { code, run } = await runExported(c, { wasm: false });
  assert.ok(!/WebAssembly|wasmLoop/.test(code.slice(code.indexOf("\n"))), "no WebAssembly");
  assert.equal(run.wasm, false);
  assert.equal(run.codegen, false);
  const library = await deno(["run", "-A", fixture("export_no_wasm.ts")]);
  assert.equal(library.wasm, false);
  assert.deepEqual(run.results, library.results);
  assert.deepEqual(run.weights, library.weights);
});

/** A small SGD step on a 2-4-2 MLP, exported and imported in process; and its model. */
async function sgdModule() {
  dz.random.seed(1);
  const model = new MLP([4, 2]);
  const opt = new optimizers.SGD(0.5).setup(model);
  const x = dz.random.randn(8, 2).astype("float32");
  const t = dz.array([0, 1, 1, 0, 1, 0, 0, 1]);
  const step = dz.jit((x: dz.NDArray, t: dz.NDArray) => {
    const loss = F.softmaxCrossEntropy(model.apply(x), t);
    model.cleargrads();
    loss.backward();
    opt.update();
    return loss;
  });
  step(x, t);
  step(x, t);
  const code = await step.export({ model });
  const mod = await import(`data:text/javascript,${encodeURIComponent(code)}`);
  return { model, mod, x, t };
}

Deno.test("export(): weights() by dotted name, setWeights() checked, hyper read at each call", async () => {
  const { model, mod, x, t } = await sgdModule();
  const w = mod.weights();
  for (const [name, p] of model.namedParams()) {
    assert.deepEqual(w[name].shape, p.shape);
    assert.deepEqual(Array.from(w[name].data), Array.from(p.data.data));
  }
  // lr 0: a call leaves the parameters as they are
  mod.hyper.SGD.lr = 0;
  mod.default(x, t);
  assert.deepEqual(mod.weights(), w);
  mod.hyper.SGD.lr = 0.5;
  mod.default(x, t);
  assert.notDeepEqual(mod.weights()["l0.W"].data, w["l0.W"].data);
  // setWeights copies values in; the next call starts from them
  mod.setWeights({ "l0.W": w["l0.W"], "l1.b": w["l1.b"].data });
  assert.deepEqual(mod.weights()["l0.W"].data, w["l0.W"].data);
  assert.throws(
    () => mod.setWeights({ "l9.W": w["l0.W"] }),
    /no parameter 'l9.W' \(there are l0.W/,
  );
  assert.throws(
    () => mod.setWeights({ "l0.W": new Float32Array(3) }),
    /'l0.W' must be a float32 array of shape \[2,4\], got a float32 array of 3 elements/,
  );
  assert.throws(
    () => mod.setWeights({ "l0.b": dz.zeros([4]) }),
    /'l0.b' must be a float32 array of shape \[4\], got a float64 array/,
  );
});

Deno.test("export(): weights trained by an exported step save as safetensors", async () => {
  const { mod, x, t } = await sgdModule();
  for (let i = 0; i < 5; i++) mod.default(x, t);
  const trained = mod.weights();
  const copy = new MLP([4, 2]);
  dz.noGrad(() => copy.apply(x));
  for (const [name, p] of copy.namedParams()) {
    p.data = new dz.NDArray(trained[name].data, trained[name].shape);
  }
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await copy.saveWeights(path);
  const loaded = new MLP([4, 2]);
  dz.noGrad(() => loaded.apply(x));
  await loaded.loadWeights(path);
  await Deno.remove(path);
  for (const [name, p] of loaded.namedParams()) {
    assert.deepEqual(Array.from(p.data.data), Array.from(trained[name].data));
  }
});

Deno.test("exported functions reject another shape, dtype or argument count clearly", async () => {
  const { mod, x, t } = await sgdModule();
  assert.throws(
    () => mod.default(dz.zeros([4, 2]).astype("float32"), t),
    /exported function: argument 0 must be a float32 array of shape \[8,2\] \(the shape traced\), got a float32 array of 8 elements of shape \[4,2\]/,
  );
  assert.throws(
    () => mod.default(x, new Float32Array(8)),
    /argument 1 must be a int32 array/,
  );
  assert.throws(() => mod.default(x.data, new Int32Array(7)), /got a int32 array of 7 elements/);
  assert.throws(() => mod.default(x), /expected 2 arguments, got 1/);
  // a number argument is baked into the tape: the module runs with that number only
  const scale = dz.jit((x: dz.NDArray, k: number) => F.mul(x, k));
  scale(x, 3);
  const scaled = await import(`data:text/javascript,${encodeURIComponent(await scale.export())}`);
  assert.deepEqual(
    Array.from(scaled.default(x, 3).data),
    Array.from(x.data).map((v) => Math.fround(v * 3)),
  );
  assert.throws(() => scaled.default(x, 4), /argument 1 was traced as 3 and is baked in; got 4/);
  // traced with a Variable argument (its gradient left as none): exports, takes arrays
  const sq = dz.jit((v: dz.Variable) => F.sum(F.mul(v, v)));
  sq(new dz.Variable(x));
  const sqm = await import(`data:text/javascript,${encodeURIComponent(await sq.export())}`);
  // float32 squares summed in float64, rounded once (as the library's float32 sum does)
  const want = Math.fround(Array.from(x.data).reduce((acc, v) => acc + Math.fround(v * v), 0));
  assert.equal(sqm.default(x.data).data[0], want);
  // typed arrays and Variables are taken as well as NDArrays
  const a = mod.default(x.data, new dz.Variable(t));
  assert.deepEqual(a.shape, []);
  assert.equal(a.dtype, "float32");
});

Deno.test("export() refuses what a module cannot carry, naming it", async () => {
  const W = new Parameter(dz.ones([3]).astype("float32"), "W");
  const model = new MLP([2]);
  const x = dz.ones([3]).astype("float32");
  const f = dz.jit((x: dz.NDArray) => F.sum(F.mul(x, W)));
  await assert.rejects(f.export(), /no tape yet: call the jitted function/);
  f(x);
  await assert.rejects(
    f.export(),
    /reads a parameter of shape \[3\] that has no name: pass \{ model \}/,
  );
  await assert.rejects(f.export({ model }), /is not among options.model's namedParams\(\)/);
  await assert.rejects(f.export({ wasm: "no" as unknown as boolean }), /wasm must be a boolean/);
  const lr = { v: 0.1 };
  const plain = dz.jit((x: dz.NDArray) => F.mul(x, hostScalar(() => lr.v, "float32")));
  plain(x);
  await assert.rejects(plain.export(), /host scalar was given as a plain function/);
  const eager = dz.jit((x: dz.Variable) => F.matmul(x, x)); // an int32 product: no kernel
  eager(new dz.Variable(dz.array([[1, 2], [3, 4]])));
  await assert.rejects(eager.export(), /1 op\(s\) by the eager kernel \(matmul\)/);
  const rnn = new dz.L.RNN(4, { inSize: 3 });
  const stateful = dz.jit((x: dz.NDArray) => rnn.apply(x));
  stateful(dz.ones([1, 3]).astype("float32"));
  stateful(dz.ones([1, 3]).astype("float32"));
  await assert.rejects(stateful.export({ model: rnn }), /carries layer state from call to call/);
  const grads = dz.jit((x: dz.Variable) => {
    const y = F.sum(F.mul(x, x));
    y.backward();
    return y;
  });
  grads(new dz.Variable(x));
  await assert.rejects(grads.export(), /sets the grad of its argument 0/);
});
