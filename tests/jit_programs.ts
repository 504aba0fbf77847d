/**
 * Random jit-vs-eager programs and the situations they meet in use, shared
 * by tests/jit_random.test.ts and the sweep (tests/hostile_sweep.ts): a
 * fixed-seed generator, random programs of unary, binary and reduction ops
 * over two operands (forward and backward), and situations (arguments
 * passed twice, nesting in another jitted function, a replaced parameter,
 * kept gradients, labels out of range) that each throw when the jitted
 * program differs from the eager one.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { jit } from "../jit/mod.ts";

const { F, L, Parameter, Variable, optimizers } = dz;
type V = dz.Variable;

/** A fixed-seed generator of [0, 1) (LCG), independent of dz.random. */
export function generator(seed: number): () => number {
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
export function program(rnd: () => number, m: number, n: number): (x: V, w: V) => V {
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

/** Bit-for-bit equality of two lists of Variables (or nulls), or of the errors two calls threw. */
export function same(got: (V | null)[], want: (V | null)[], msg: string): void {
  assert.equal(got.length, want.length, msg);
  want.forEach((e, k) => {
    if (e === null) return assert.equal(got[k], null, `${msg} [${k}]`);
    assert.deepEqual(got[k]!.data.toArray(), e.data.toArray(), `${msg} [${k}]`);
  });
}

/** `f(...)` as [its results] or the message it threw. */
function attempt(f: () => (V | null)[]): (V | null)[] | string {
  try {
    return f();
  } catch (e) {
    return (e as Error).message;
  }
}

export type Program = (x: V, w: V) => V;

/**
 * Situations a jitted program meets in use, each run on the jitted program
 * and on the eager one over separate, equal state: the results, gradients
 * and parameters must agree bit for bit after every call (or both throw
 * the same error).
 */
export const SITUATIONS: Record<string, (f: Program, xs: dz.NDArray[], msg: string) => void> = {
  /** The same Variable passed twice, then two, then the reverse. */
  aliasing(f, xs, msg) {
    const calls = [[0, 0], [0, 1], [2, 2], [3, 1], [1, 1]];
    const run = (g: Program) =>
      calls.map(([i, j]) => {
        const vs = new Map([i, j].map((k) => [k, new Variable(xs[k].copy())]));
        const [a, b] = [vs.get(i)!, vs.get(j)!];
        return [g(a, b), a.grad, b.grad];
      });
    const step = jit(f);
    run(f).forEach((want, k) => same(run(step)[k], want, `${msg} call ${k}`));
  },
  /** A jitted program called inside another jitted function. */
  nesting(f, xs, msg) {
    const inner = jit(f);
    const outer = jit((x: V, w: V) => F.mul(inner(x, w), 2));
    const eager = (x: V, w: V) => F.mul(f(x, w), 2);
    for (let k = 0; k < 4; k++) {
      const args = () => [new Variable(xs[k].copy()), new Variable(xs[(k + 1) % 4].copy())];
      const [a, b] = args(), [c, d] = args();
      same([outer(a, b), a.grad, b.grad], [eager(c, d), c.grad, d.grad], `${msg} call ${k}`);
    }
  },
  /** A layer's parameter replaced between calls, under an optimizer. */
  replacedParameters(f, xs, msg) {
    const make = () => {
      class Holder extends L.Layer {
        w = new Parameter(xs[1].copy(), "w");
        forward(x: V) {
          return f(x, this.w);
        }
      }
      const layer = new Holder();
      const opt = new optimizers.SGD(0.01).setup(layer);
      const step = (x: V) => {
        layer.cleargrads();
        const y = layer.apply(x);
        opt.update();
        return y;
      };
      return { layer, step };
    };
    const [j, e] = [make(), make()];
    const jstep = jit(j.step);
    for (let k = 0; k < 5; k++) {
      if (k === 2) {
        const [oj, oe] = [j.layer.w, e.layer.w];
        j.layer.w = new Parameter(xs[2].copy(), "w");
        e.layer.w = new Parameter(xs[2].copy(), "w");
        jstep(new Variable(xs[0].copy()));
        e.step(new Variable(xs[0].copy()));
        same([oj], [oe], `${msg}: the replaced parameter`);
      }
      const x = xs[k % 4];
      same([jstep(new Variable(x.copy())), j.layer.w], [
        e.step(new Variable(x.copy())),
        e.layer.w,
      ], `${msg} call ${k}`);
    }
  },
  /** Gradients kept from every call, compared once all calls are done. */
  keptGradients(f, xs, msg) {
    const step = jit(f);
    const kept: (V | null)[][] = [], want: (V | null)[][] = [];
    for (let k = 0; k < 4; k++) {
      const [a, b, c, d] = [k, (k + 1) % 4, k, (k + 1) % 4].map((i) => new Variable(xs[i].copy()));
      kept.push([step(a, b), a.grad, b.grad]);
      want.push([f(c, d), c.grad, d.grad]);
    }
    kept.forEach((g, k) => same(g, want[k], `${msg} kept from call ${k}`));
  },
  /** Labels in range, then out of range (past the classes, negative), then in range again. */
  badLabels(f, xs, msg) {
    const [rows, classes] = xs[0].shape;
    const loss = (x: V, w: V, t: dz.NDArray) => {
      const y = F.softmaxCrossEntropy(F.add(F.mul(x, w), f(x, w)), t);
      y.backward();
      return y;
    };
    const step = jit(loss);
    const label = (k: number) =>
      dz.array(
        Array.from(
          { length: rows },
          (_, r) => k === 2 ? classes : k === 3 ? -1 : (r + k) % classes,
        ),
        { dtype: "int32" },
      );
    for (let k = 0; k < 5; k++) {
      const run = (g: typeof loss) => () => {
        const [a, b] = [new Variable(xs[k % 4].copy()), new Variable(xs[1].copy())];
        return [g(a, b, label(k)), a.grad, b.grad];
      };
      const [got, want] = [attempt(run(step)), attempt(run(loss))];
      if (typeof want === "string") assert.equal(got, want, `${msg} call ${k}`);
      else same(got as (V | null)[], want, `${msg} call ${k}`);
    }
  },
};

/**
 * `count` random programs from `seed`, each met with the next situation in
 * turn: `[label, run]`, where `run` throws (an AssertionError) when the
 * jitted program differs from the eager one.
 */
export function situationCases(seed: number, count: number): [string, () => void][] {
  const rnd = generator(seed);
  const names = Object.keys(SITUATIONS);
  return Array.from({ length: count }, (_, t) => {
    const dtype = rnd() < 0.5 ? "float32" : "float64";
    const m = [2, 5][Math.floor(rnd() * 2)], n = [1, 7, 300][Math.floor(rnd() * 3)];
    const f = program(rnd, m, n);
    const xs = Array.from({ length: 4 }, () => dz.random.randn(m, n).astype(dtype));
    const name = names[t % names.length];
    const label = `program ${t} (${name}, ${dtype} [${m}, ${n}])`;
    return [label, () => SITUATIONS[name](f, xs, label)];
  });
}
