/**
 * jit() against eager on random programs: chains of unary, binary and
 * broadcast-reduction ops over float32, float64 or both mixed, at sizes on
 * both sides of the staged-loop threshold (so through the WebAssembly
 * kernels and loops too), forward and backward, from a fixed seed: equal
 * bit for bit; and random programs met with the situations of
 * tests/jit_programs.ts.
 * @module
 */
import * as dz from "../mod.ts";
import { jit } from "../jit/mod.ts";
import assert from "node:assert/strict";
import { generator, program, situationCases } from "./jit_programs.ts";

const { Variable } = dz;
type V = dz.Variable;

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

Deno.test("jit() equals eager on random programs met with aliasing, nesting, replaced parameters, kept gradients and bad labels", () => {
  dz.random.seed(5);
  for (const [, run] of situationCases(2024, 40)) run();
});
