/**
 * jit() against eager on random programs: chains of unary, binary and
 * broadcast-reduction ops over float32, float64 or both mixed, at sizes on
 * both sides of the staged-loop threshold (so through the WebAssembly
 * kernels and loops too), forward and backward, from a fixed seed: equal
 * bit for bit.
 * @module
 */
import * as dz from "../mod.ts";
import { jit } from "../jit/mod.ts";
import assert from "node:assert/strict";

const { F, Variable } = dz;
type V = dz.Variable;

/** A fixed-seed generator of [0, 1) (LCG), independent of dz.random. */
function generator(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const unary: ((x: V) => V)[] = [
  F.exp,
  F.sin,
  F.cos,
  F.tanh,
  F.sigmoid,
  F.neg,
  F.relu,
  F.abs,
  (x) => F.log(F.add(F.mul(x, x), 1)),
  (x) => F.pow(x, 2),
  (x) => F.mul(x, 0.5),
];
const binary: ((a: V, b: V) => V)[] = [
  F.add,
  F.sub,
  F.mul,
  (a, b) => F.div(a, F.add(F.mul(b, b), 1)),
];

/** A random program over x, w ([m, n]): 6 ops, each on random earlier values. */
function program(rnd: () => number, m: number, n: number): (x: V, w: V) => V {
  const choices: number[][] = [];
  for (let k = 0; k < 6; k++) choices.push([rnd(), rnd(), rnd(), rnd()]);
  return (x, w) => {
    const vals = [x, w];
    const pick = (r: number) => vals[Math.floor(r * vals.length)];
    for (const [r, a, b, c] of choices) {
      if (r < 0.45) vals.push(unary[Math.floor(a * unary.length)](pick(b)));
      else if (r < 0.85) vals.push(binary[Math.floor(a * binary.length)](pick(b), pick(c)));
      else if (r < 0.95) vals.push(F.broadcastTo(F.sum(pick(b), 1, true), [m, n]));
      else vals.push(F.broadcastTo(F.max(pick(b), 0, true), [m, n]));
    }
    const y = F.sum(vals[vals.length - 1]);
    y.backward();
    return y;
  };
}

Deno.test("jit() equals eager on 120 random programs, forward and backward", () => {
  const rnd = generator(12345);
  dz.random.seed(12);
  for (let t = 0; t < 120; t++) {
    const dtype = rnd() < 0.5 ? "float32" : "float64";
    const m = [1, 2, 5][Math.floor(rnd() * 3)], n = [1, 7, 300, 513, 1000][Math.floor(rnd() * 5)];
    const f = program(rnd, m, n);
    // w mostly shares x's dtype; otherwise the programs mix float32 and float64
    const wtype = rnd() < 0.7 ? dtype : dtype === "float32" ? "float64" : "float32";
    const xd = dz.random.randn(m, n).astype(dtype), wd = dz.random.randn(m, n).astype(wtype);
    const run = (g: (x: V, w: V) => V, times: number) => {
      let x!: V, w!: V, y!: V;
      for (let k = 0; k < times; k++) {
        x = new Variable(xd.copy());
        w = new Variable(wd.copy());
        y = g(x, w);
      }
      return [y, x.grad, w.grad];
    };
    const want = run(f, 1), got = run(jit(f), 2); // the second call replays the tape
    // generated loops round as eager does, step by step, and reduce in its
    // order: values and gradients agree to the last bit
    want.forEach((e, k) => {
      const msg = `program ${t} (${dtype}, ${wtype} [${m}, ${n}]) output ${k}`;
      if (e === null) return assert.equal(got[k], null, msg);
      assert.deepEqual(got[k]!.data.toArray(), e.data.toArray(), msg);
    });
  }
});
