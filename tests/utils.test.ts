/**
 * Tests of the `utils` namespace: numericalGrad, gradientCheck, sumTo,
 * getDotGraph (DeZero's DOT layout, escaping) and plotDotGraph (with and
 * without Graphviz on PATH, using stand-in `dot` scripts).
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;

Deno.test("numericalGrad() gives central differences of the summed output as float64", () => {
  const xs = [0.3, -1.1, 2.0, 0.7];
  const x = new Variable(dz.array(xs).reshape(2, 2));
  const g = utils.numericalGrad(F.sin, x);
  assert.deepEqual(g.shape, [2, 2]);
  assert.equal(g.dtype, "float64");
  assertAllClose(g, xs.map(Math.cos), { rtol: 1e-8 });
  assert.deepEqual(x.data.toArray(), [[0.3, -1.1], [2.0, 0.7]]); // the point is untouched
  const eps = 1e-4; // exact central difference of x^3: 3x^2 + eps^2
  assertAllClose(utils.numericalGrad((v) => v.pow(3), dz.array([2.0])), [12 + eps * eps], {
    rtol: 1e-9,
  });
  assertAllClose(utils.numericalGrad((v) => v.pow(3), dz.array([2.0]), 1e-2), [12 + 1e-4], {
    rtol: 1e-9,
  });
  const x32 = dz.array([1, 2, 3], { dtype: "float32" });
  const g32 = utils.numericalGrad((v) => F.mul(v, v), x32);
  assert.equal(g32.dtype, "float64");
  assertAllClose(g32, [2, 4, 6], { rtol: 1e-9 });
  assertAllClose(utils.numericalGrad((v) => v, dz.array([5, 6])), [1, 1], { rtol: 1e-9 });
  const w = new Variable([[1, 2], [3, 4]]);
  assertAllClose(utils.numericalGrad((v) => F.matmul(v, w), dz.array([[1, 1]])), [[3, 7]], {
    rtol: 1e-9,
  });
});

Deno.test("gradientCheck() accepts correct backward rules and rejects a wrong one, logging the gap", () => {
  assert.equal(utils.gradientCheck(F.tanh, new Variable([0.5, -1.0, 2.0])), true);
  assert.equal(utils.gradientCheck((x) => F.sum(F.mul(x, x), 1), dz.array([[1, 2], [3, 4]])), true);
  const int = new Variable([1, 2, 3]);
  assert.equal(utils.gradientCheck((x) => F.exp(x), int), true);
  assert.equal(int.dtype, "int32"); // the caller's variable is left alone
  class WrongSquare extends dz.Function {
    forward(x: dz.NDArray): dz.NDArray {
      return x.mul(x);
    }
    backward(gy: Variable): Variable {
      return gy.mul(this.inputs[0]); // should be 2x
    }
  }
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => warnings.push(msg);
  try {
    assert.equal(
      utils.gradientCheck((x) => new WrongSquare().apply(x), new Variable([1, -3])),
      false,
    );
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /gradientCheck: FAILED, max \|numerical - backprop\| = 3(\.\d+)? /);
  // within a loose enough tolerance, the wrong rule passes
  console.warn = () => {};
  try {
    const loose = utils.gradientCheck((x) => new WrongSquare().apply(x), new Variable([1e-3]), {
      atol: 1e-2,
    });
    assert.equal(loose, true);
  } finally {
    console.warn = warn;
  }
});

Deno.test("sumTo() sums broadcast axes back to the target shape", () => {
  const x = dz.array([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(utils.sumTo(x, [1, 3]).toArray(), [[5, 7, 9]]);
  assert.deepEqual(utils.sumTo(x, [2, 1]).toArray(), [[6], [15]]);
  assert.deepEqual(utils.sumTo(x, [3]).toArray(), [5, 7, 9]);
  assert.deepEqual(utils.sumTo(x, [1, 1]).toArray(), [[21]]);
  assert.deepEqual(utils.sumTo(x, []).toArray(), 21);
  assert.deepEqual(utils.sumTo(x, [2, 3]).toArray(), [[1, 2, 3], [4, 5, 6]]);
  const y = dz.arange(24).reshape(2, 3, 4);
  assert.deepEqual(utils.sumTo(y, [3, 1]).toArray(), [[60], [92], [124]]);
  assert.throws(() => utils.sumTo(x, [2]), /sumTo: cannot broadcast shape \[2\] to \[2,3\]/);
});

/** `dot` with node ids renumbered 1, 2, ... in order of first appearance. */
function renumber(dot: string): string {
  const ids = new Map<string, number>();
  return dot.replace(/^(\d+)|(?<=^\d+ -> )(\d+)/gm, (id) => {
    if (!ids.has(id)) ids.set(id, ids.size + 1);
    return String(ids.get(id));
  });
}

Deno.test("getDotGraph() writes DeZero's DOT: orange variables, light-blue function boxes, edges", () => {
  const x = new Variable(2.0, "x");
  const y = F.exp(F.square(x));
  y.name = "y";
  assert.equal(
    renumber(utils.getDotGraph(y)),
    [
      "digraph g {",
      '1 [label="y: () float64", color=orange, style=filled]',
      '2 [label="Exp", color=lightblue, style=filled, shape=box]',
      "3 -> 2",
      "2 -> 1",
      '3 [label="() float64", color=orange, style=filled]',
      '4 [label="Square", color=lightblue, style=filled, shape=box]',
      "5 -> 4",
      "4 -> 3",
      '5 [label="x: () float64", color=orange, style=filled]',
      "}",
    ].join("\n"),
  );
  const quiet = renumber(utils.getDotGraph(y, { verbose: false }));
  assert.match(quiet, /^1 \[label="y", color=orange, style=filled\]$/m);
  assert.match(quiet, /^3 \[label="", color=orange, style=filled\]$/m);
  assert.match(quiet, /^5 \[label="x", color=orange, style=filled\]$/m);
  // the same objects keep their ids from one call to the next
  assert.equal(utils.getDotGraph(y), utils.getDotGraph(y));
});

Deno.test("getDotGraph() declares each variable once and shows shapes as Python tuples", () => {
  const a = new Variable(dz.zeros([2, 3], { dtype: "float32" }), "a");
  const b = F.square(a);
  const y = F.add(F.mul(b, b), b); // b feeds three inputs
  const dot = utils.getDotGraph(y);
  const nodes = dot.split("\n").filter((l) => /^\d+ \[/.test(l));
  const edges = dot.split("\n").filter((l) => /^\d+ -> \d+$/.test(l));
  assert.equal(nodes.length, 7); // a, b, b*b, y and Square, Mul, Add
  assert.equal(edges.length, 8); // 5 input edges + 3 output edges
  assert.ok(dot.includes('[label="a: (2, 3) float32", color=orange, style=filled]'));
  const bId = nodes.find((l) => l.includes("Square"))!.split(" ")[0];
  assert.equal(edges.filter((e) => e.startsWith(`${bId} ->`)).length, 1);
  const v = new Variable(dz.array([1, 2, 3]));
  assert.ok(utils.getDotGraph(F.neg(v)).includes('[label="(3,) int32"'));
  const leaf = utils.getDotGraph(new Variable(1.0, "leaf"));
  assert.match(
    leaf,
    /^digraph g \{\n\d+ \[label="leaf: \(\) float64", color=orange, style=filled\]\n\}$/,
  );
});

Deno.test("getDotGraph() escapes quotes, backslashes and newlines in names", () => {
  const x = new Variable(1.0, 'say "hi"\nback\\slash');
  const dot = utils.getDotGraph(F.sin(x), { verbose: false });
  const line = dot.split("\n").find((l) => l.includes("say"))!;
  assert.match(line, /^\d+ \[label="say \\"hi\\"\\nback\\\\slash", color=orange, style=filled\]$/);
  assert.equal(dot.split("\n").length, 7); // the name did not add a line
});

/** The DOT's variable nodes, function nodes (by label) and edges into each node. */
function dotNodes(dot: string) {
  const vars = [...dot.matchAll(/^(\d+) \[.*color=orange/gm)].map((m) => m[1]);
  const funcs = [...dot.matchAll(/^(\d+) \[label="(\w+)".*shape=box/gm)].map((m) => [m[1], m[2]]);
  const into = (id: string) => [...dot.matchAll(new RegExp(`^\\d+ -> ${id}$`, "gm"))].length;
  return { vars, funcs, into };
}

Deno.test("getDotGraph() draws a number exponent as Pow's attribute, as DeZero's Pow(c)", () => {
  // the book's step 26: Goldstein-Price, with 17 number constants outside the exponents
  const x = new Variable(1.0, "x"), y = new Variable(1.0, "y");
  const z = x.add(y).add(1).pow(2)
    .mul(
      x.mul(14).rsub(19).add(x.pow(2).mul(3)).sub(y.mul(14)).add(x.mul(6).mul(y)).add(
        y.pow(2).mul(3),
      ),
    )
    .add(1)
    .mul(
      x.mul(2).sub(y.mul(3)).pow(2)
        .mul(
          x.mul(32).rsub(18).add(x.pow(2).mul(12)).add(y.mul(48)).sub(x.mul(36).mul(y)).add(
            y.pow(2).mul(27),
          ),
        )
        .add(30),
    );
  const g = dotNodes(utils.getDotGraph(z));
  const pows = g.funcs.filter(([, name]) => name === "Pow");
  assert.equal(pows.length, 6);
  for (const [id] of pows) assert.equal(g.into(id), 1);
  // one output per function, the inputs x and y, and the 17 constants
  assert.equal(g.vars.length, g.funcs.length + 2 + 17);
  assert.equal(z.data.item(), (1 + 3 ** 2 * 3) * (30 + 1 * 37)); // the formula at (1, 1) by hand

  // step 27: Taylor series of sin, `c * x ** (2i + 1)` per term
  const t = new Variable(Math.PI / 4, "x");
  let s: Variable = new Variable(0);
  for (let i = 0; i < 5; i++) {
    const c = (-1) ** i / [1, 6, 120, 5040, 362880][i];
    s = s.add(t.pow(2 * i + 1).mul(c));
  }
  const h = dotNodes(utils.getDotGraph(s));
  const taylorPows = h.funcs.filter(([, name]) => name === "Pow");
  assert.equal(taylorPows.length, 5);
  for (const [id] of taylorPows) assert.equal(h.into(id), 1);
  // x, the initial 0, a constant per Mul, and each function's output
  assert.equal(h.vars.length, h.funcs.length + 2 + 5);
  assertAllClose(s.data, [Math.sin(Math.PI / 4)], { rtol: 1e-6 });
});

/** A directory with a stand-in `dot` executable running `script`. */
async function fakeDot(script: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/dot`, `#!/bin/sh\n${script}\n`);
  await Deno.chmod(`${dir}/dot`, 0o755);
  return dir;
}

/** Runs `fn` with PATH set to `path` and console.warn captured. */
async function withPath<T>(path: string, fn: () => Promise<T>): Promise<[T, string[]]> {
  const old = Deno.env.get("PATH") ?? "";
  const warn = console.warn;
  const warnings: string[] = [];
  Deno.env.set("PATH", path);
  console.warn = (msg: string) => warnings.push(msg);
  try {
    return [await fn(), warnings];
  } finally {
    Deno.env.set("PATH", old);
    console.warn = warn;
  }
}

Deno.test({
  name: "plotDotGraph() writes the .dot next to the image and runs Graphviz's dot when present",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const y = F.square(new Variable(3.0, "x"));
    const out = await Deno.makeTempDir();
    const empty = await Deno.makeTempDir();
    const [missing, warnings] = await withPath(empty, () => utils.plotDotGraph(y, `${out}/g.png`));
    assert.equal(missing, `${out}/g.dot`);
    assert.equal(await Deno.readTextFile(`${out}/g.dot`), utils.getDotGraph(y));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Graphviz 'dot' is not on PATH/);

    const ok = await fakeDot('printf "%s %s %s" "$1" "$2" "$3" > "$4"');
    const [image] = await withPath(
      ok,
      () => utils.plotDotGraph(y, `${out}/g.svg`, { verbose: false }),
    );
    assert.equal(image, `${out}/g.svg`);
    assert.equal(await Deno.readTextFile(image), `${out}/g.dot -Tsvg -o`);
    assert.equal(await Deno.readTextFile(`${out}/g.dot`), utils.getDotGraph(y, { verbose: false }));

    const bad = await fakeDot('echo "syntax error" >&2; exit 3');
    await withPath(
      bad,
      () =>
        assert.rejects(
          () => utils.plotDotGraph(y, `${out}/h.png`),
          /dot failed \(exit 3\): syntax error/,
        ),
    );

    const [dotOnly] = await withPath(bad, () => utils.plotDotGraph(y, `${out}/only.dot`));
    assert.equal(dotOnly, `${out}/only.dot`);
    for (const dir of [out, empty, ok, bad]) await Deno.remove(dir, { recursive: true });
  },
});
