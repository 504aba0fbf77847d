/**
 * The broad hostile-input sweep (not a unit test: it takes minutes and
 * measures time and memory): every public function given every hostile
 * value, eagerly and jitted (tests/hostile_cases.ts); random jitted
 * programs in hostile situations (tests/jit_programs.ts); numpy's edge
 * cases; every bit flip of saved `.npz` files, crafted headers and
 * decompression bombs; saves under odd names loaded back; and the heap
 * across retraces and long training. Prints a count per outcome.
 *
 *     deno run -A --v8-flags=--expose-gc tests/hostile_sweep.ts
 *
 * @module
 */
import { join } from "node:path";
import * as dz from "../mod.ts";
import { loadWeights, saveWeights } from "../nn/weights.ts";
import { ENTRIES, HOSTILE, type Outcome, runCase } from "./hostile_cases.ts";
import { situationCases } from "./jit_programs.ts";

const { F, L, Parameter, Variable, jit } = dz;
type V = dz.Variable;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
const heap = () => (gc(), gc(), Deno.memoryUsage().heapUsed);
const counts = new Map<string, number>();
const examples = new Map<string, string>();
const note = (section: string, result: string, example = "") => {
  const key = `${section}: ${result}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  if (example && !examples.has(key)) examples.set(key, example);
};
const quietly = <T>(f: () => T): T => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return f();
  } finally {
    console.warn = warn;
  }
};

// ---- arguments: every slot of every public function, every hostile value ----
quietly(() => {
  for (const entry of ENTRIES) {
    for (const [label, make] of HOSTILE) {
      for (const jitted of [false, true]) {
        const r = runCase(entry, make(), jitted);
        const what = `${jitted ? "jit " : ""}${entry[0]} given ${label}: ${
          (r.error as Error | undefined)?.message?.split("\n")[0] ?? ""
        }`;
        note("arguments", r.outcome satisfies Outcome, r.outcome === "clear" ? "" : what);
      }
    }
  }
});

// ---- jit: random programs in hostile situations ----
quietly(() => {
  for (const [label, run] of situationCases(99, 100)) {
    try {
      run();
      note("jit situations", "same as eager");
    } catch (e) {
      const wrong = (e as Error).name === "AssertionError";
      note(
        "jit situations",
        wrong ? "silently different" : "threw",
        `${label}: ${(e as Error).message}`,
      );
    }
  }
});

// ---- numpy's answers at the edges ----
const wrap = (x: bigint) => Number(BigInt.asIntN(32, x));
const edge = (what: string, f: () => boolean) => {
  try {
    note("numpy edges", f() ? "numpy's answer" : "silently different", what);
  } catch (e) {
    note("numpy edges", "threw on valid input", `${what}: ${(e as Error).message}`);
  }
};
const refusal = (what: string, f: () => unknown, name: string) => {
  try {
    f();
    note("numpy edges", "silently accepted (numpy refuses)", what);
  } catch (e) {
    note(
      "numpy edges",
      (e as Error).message.includes(name) ? "clear error" : "unclear error",
      what,
    );
  }
};
const ints = [2147483647, -2147483648, 65537, -46341, 3, 7, -1, 0, 123456789, 40, 31];
for (const a of ints) {
  for (const b of ints) {
    const x = dz.array([a]), y = dz.array([b]);
    edge(`${a} * ${b}`, () => x.mul(y).item() === wrap(BigInt(a) * BigInt(b)));
    edge(`${a} + ${b}`, () => x.add(y).item() === wrap(BigInt(a) + BigInt(b)));
    if (b >= 0 && b <= 64) {
      edge(`${a} ** ${b}`, () => x.pow(y).item() === wrap(BigInt(a) ** BigInt(b)));
    }
    if (b < 0) refusal(`${a} ** ${b}`, () => x.pow(y), "pow");
  }
}
for (const v of [NaN, Infinity, -Infinity, 3e9, -3e9, 1e300]) {
  edge(`astype int32 of ${v}`, () => dz.array([v]).astype("int32").item() === -2147483648);
}
refusal("array([3e9], int32)", () => dz.array([3e9], { dtype: "int32" }), "array");
refusal("arange past int32", () => dz.arange(2 ** 31 - 1, 2 ** 31 + 1), "arange");
refusal("int32 beside 3e9", () => dz.array([1]).mul(3e9), "mul");
edge(
  "clip(arange(5), 3, 1)",
  () => String(F.clip(dz.arange(5), 3, 1).data) === "[1 1 1 1 1]",
);
const empty = dz.zeros([0, 4]), t0 = dz.zeros([0], { dtype: "int32" });
edge("max over [3,0] axis 0", () => dz.zeros([3, 0]).max(0).shape.join() === "0");
edge("softmax of 0 rows", () => F.softmax(empty).shape.join() === "0,4");
edge("logSoftmax of 0 rows", () => F.logSoftmax(empty).shape.join() === "0,4");
edge("logsumexp of 0 rows", () => F.logsumexp(empty, 1).shape.join() === "0");
edge("softmaxCrossEntropy of 0 rows", () => Number.isNaN(F.softmaxCrossEntropy(empty, t0).item()));
edge("accuracy of 0 rows", () => Number.isNaN(F.accuracy(empty, t0).item()));
edge("jit softmaxCrossEntropy of 0 rows", () => {
  const step = jit((x: V, t: dz.NDArray) => F.softmaxCrossEntropy(x, t));
  step(new Variable(empty), t0);
  return Number.isNaN(step(new Variable(empty), t0).item());
});
refusal("argmax of []", () => dz.zeros([0]).argmax(), "argmax");
refusal("max over [3,0] axis 1", () => dz.zeros([3, 0]).max(1), "max");

// ---- files ----
const dir = await Deno.makeTempDir({ prefix: "dezero-sweep-" });
const params = () =>
  new Map([
    ["l0.W", new Parameter(dz.random.randn(3, 4).astype("float32"), "W")],
    ["l0.b", new Parameter(dz.random.randn(4), "b")],
  ]);
const snapshot = (p: Map<string, dz.Variable>) =>
  JSON.stringify([...p].map(([k, v]) => [k, v.data.shape, Array.from(v.data.data)]));
dz.random.seed(3);
const model = params();
for (const level of ["npz", "safetensors"]) {
  const path = join(dir, `m.${level}`);
  await saveWeights(model, path);
  const good = await Deno.readFile(path);
  const headerEnd = level === "npz"
    ? good.length
    : 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
  for (let bit = 0; bit < headerEnd * 8; bit++) {
    const bad = good.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    await Deno.writeFile(path, bad);
    const p = params();
    const before = snapshot(p);
    try {
      await loadWeights(p, path);
      note(
        `bit flips (.${level})`,
        snapshot(p) === snapshot(model) ? "loaded the same values" : "loaded other values silently",
        `bit ${bit}`,
      );
    } catch (e) {
      const clear = (e as Error).message.startsWith("loadWeights: ") && snapshot(p) === before;
      note(
        `bit flips (.${level})`,
        clear ? "refused, model unchanged" : "refused unclearly",
        (e as Error).message,
      );
    }
  }
}
const { zipSync } = await import("npm:fflate@0.8.3");
const npy = (dict: string, data: Uint8Array) => {
  const text = new TextEncoder().encode(dict + "\n");
  const out = new Uint8Array(12 + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
  new DataView(out.buffer).setUint32(8, text.length, true);
  out.set(text, 12);
  out.set(data, 12 + text.length);
  return out;
};
const timed = async (section: string, what: string, path: string, p: Map<string, dz.Variable>) => {
  const rss = Deno.memoryUsage().rss, t = performance.now();
  let result = "refused";
  try {
    await loadWeights(p, path);
    result = "loaded";
  } catch (e) {
    if (!(e as Error).message.startsWith("loadWeights: ")) result = "refused unclearly";
  }
  const ms = performance.now() - t, grew = Deno.memoryUsage().rss - rss;
  const slow = ms > 1000, big = grew > 64 * 2 ** 20;
  note(
    section,
    slow ? "slow (> 1 s)" : big ? "unbounded memory (> 64 MiB)" : `${result}, fast and bounded`,
    `${what}: ${ms.toFixed(0)} ms, +${(grew / 2 ** 20).toFixed(0)} MiB`,
  );
};
const lazy = () => new Map([["l0.W", new Parameter(dz.zeros([0, 1024], { dtype: "float32" }))]]);
const headers: [string, string][] = [
  [
    "20000 spaces",
    `{${" ".repeat(20000)}'descr': '<f4', 'fortran_order': False, 'shape': (2, 1024)}`,
  ],
  [
    "9990 spaces",
    `{${" ".repeat(9900)}'descr': '<f4', 'fortran_order': False, 'shape': (2, 1024)}`,
  ],
  ["nested parens", `{'descr': '<f4', 'fortran_order': False, 'shape': ${"(".repeat(9000)}}`],
  ["many commas", `{'descr': '<f4', 'fortran_order': False, 'shape': (2,${",".repeat(9000)})}`],
  ["quotes", `{'descr': '${"'".repeat(9000)}', 'fortran_order': False, 'shape': (2, 1024)}`],
  ["long key", `{'${"k".repeat(9000)}': 1}`],
];
for (const [what, dict] of headers) {
  const path = join(dir, "h.npz");
  await Deno.writeFile(path, zipSync({ "l0/W.npy": npy(dict, new Uint8Array(8192)) }));
  await timed("crafted .npy headers", what, path, lazy());
}
for (const [what, shape] of [["256 MiB", "(65536, 1024)"], ["64 MiB", "(16384, 1024)"]] as const) {
  const path = join(dir, "bomb.npz");
  const zeros = new Uint8Array(what === "256 MiB" ? 256 * 2 ** 20 : 64 * 2 ** 20);
  await Deno.writeFile(
    path,
    zipSync({
      "l0/W.npy": npy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}}`, zeros),
    }),
  );
  await timed("zip bombs into a lazy layer", what, path, lazy());
}
{
  const path = join(dir, "t-images-idx3-ubyte.gz");
  const body = new Uint8Array(256 * 2 ** 20 + 16);
  body.set([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]);
  const gz = new Uint8Array(
    await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  await Deno.writeFile(path, gz);
  const rss = Deno.memoryUsage().rss, t = performance.now();
  let result = "loaded";
  try {
    await dz.datasets.readIdx(path);
  } catch (e) {
    result = (e as Error).message.startsWith("readIdx: ") ? "refused" : "refused unclearly";
  }
  const grew = Deno.memoryUsage().rss - rss;
  note(
    "IDX gzip bomb",
    grew > 64 * 2 ** 20 ? "unbounded memory (> 64 MiB)" : `${result}, bounded`,
    `+${(grew / 2 ** 20).toFixed(0)} MiB in ${(performance.now() - t).toFixed(0)} ms`,
  );
}
const names = [
  "__metadata__",
  "a/b",
  "",
  "a.b",
  "a..b",
  "é/ü",
  "x".repeat(70000),
  "w.npy",
  "0",
  " ",
  "a\\b",
  "__meta",
  "a.",
  ".a",
  "l0.W",
];
for (const ext of ["npz", "safetensors"]) {
  for (const name of names) {
    const path = join(dir, `n.${ext}`);
    const p = new Map([[name, new Parameter(dz.ones([2]))]]);
    try {
      await saveWeights(p, path);
    } catch {
      note("saves under odd names", "refused at save");
      continue;
    }
    const back = new Map([[name, new Parameter(dz.zeros([2]))]]);
    try {
      await loadWeights(back, path);
      note("saves under odd names", "saved and loaded back");
    } catch (e) {
      note(
        "saves under odd names",
        "saved but cannot be loaded",
        `${ext} '${name.slice(0, 20)}': ${(e as Error).message}`,
      );
    }
  }
}
await Deno.remove(dir, { recursive: true });

// ---- memory: retraces and long training ----
const growth = (section: string, what: string, calls: number, run: (i: number) => void) => {
  for (let i = 0; i < calls; i++) run(i); // loops, tapes, caches and optimizer state made
  const h0 = heap();
  for (let i = calls; i < 2 * calls; i++) run(i);
  const per = (heap() - h0) / calls;
  const said = `${what}: ${per.toFixed(1)} B a call over ${calls} calls`;
  note(section, per > 64 ? "unbounded growth (> 64 B a call)" : "flat", said);
  examples.set(`heap ${what}`, said);
};
quietly(() => {
  const f = jit((x: V, c: number) => {
    const y = F.sum(F.mul(F.sin(x), c));
    y.backward();
    return y;
  });
  const xs = Array.from({ length: 20 }, (_, i) => dz.random.randn(i + 1, 3).astype("float32"));
  growth("heap", "retraces cycling 20 shapes", 20000, (i) => f(new Variable(xs[i % 20]), 2));
  growth(
    "heap",
    "retraces with a new number each call",
    20000,
    (i) => f(new Variable(xs[0]), i + 0.5),
  );
  for (const jitted of [false, true]) {
    const model = new dz.MLP([32, 10], { activation: F.relu });
    const opt = new dz.optimizers.Adam().setup(model);
    const x = dz.random.randn(64, 16).astype("float32"), t = dz.random.randint(0, 10, [64]);
    const train = (x: dz.NDArray, t: dz.NDArray) => {
      const loss = F.softmaxCrossEntropy(model.apply(x), t);
      model.cleargrads();
      loss.backward();
      opt.update();
      return loss;
    };
    const step = jitted ? jit(train) : train;
    growth(
      "heap",
      `training, ${jitted ? "jit 5000" : "eager 2000"} steps`,
      jitted ? 5000 : 2000,
      () => step(x, t),
    );
  }
  // a model whose layers are replaced now and then
  const lin = new L.Linear(4, { inSize: 4, dtype: "float64" });
  const step = jit((x: dz.NDArray) => lin.apply(x));
  const x = dz.random.randn(2, 4);
  growth("heap", "a layer's W replaced every 10 calls", 5000, (i) => {
    if (i % 10 === 0) lin.W = new Parameter(dz.random.randn(4, 4), "W");
    step(x);
  });
});

// ---- report ----
const good =
  /same|: flat|clear$|numpy's|accepted$|, fast and bounded|, bounded|refused at|loaded back|refused, model/;
for (const [key, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
  const ex = good.test(key) ? undefined : examples.get(key);
  console.log(`${String(n).padStart(6)}  ${key}${ex ? `   e.g. ${ex.slice(0, 160)}` : ""}`);
}
for (const [key, ex] of examples) if (key.startsWith("heap ")) console.log(`        ${ex}`);
