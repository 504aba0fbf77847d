/** Tests of the JIT passes: dead-code elimination, common subexpressions, fusion into steps, buffer planning. @module */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { trace } from "../jit/trace.ts";
import { constantScalar } from "../jit/ir.ts";
import { cse } from "../jit/passes/cse.ts";
import { dce } from "../jit/passes/dce.ts";
import { jit } from "../jit/mod.ts";
import { fold } from "../jit/passes/fold.ts";
import { fuse } from "../jit/passes/fusion.ts";
import { plan } from "../jit/passes/plan.ts";

const { F, Variable } = dz;
type V = dz.Variable;

Deno.test("dce() drops nodes whose results nothing needs", () => {
  const x = new Variable(dz.ones([3]));
  const { graph } = trace((x) => {
    F.exp(x as dz.Variable); // dead
    return F.sin(x as dz.Variable);
  }, [x]);
  assert.deepEqual(graph.nodes.map((n) => n.op), ["exp", "sin"]);
  assert.deepEqual(dce(graph).nodes.map((n) => n.op), ["sin"]);
});

Deno.test("cse() reuses a repeated node's result (conv2d's backward im2col, softmax's pieces)", () => {
  const x = new Variable(dz.ones([3]));
  const { graph } = trace((x) => F.mul(F.exp(x as V), F.exp(x as V)), [x]);
  assert.deepEqual(graph.nodes.map((n) => n.op), ["exp", "exp", "mul"]);
  const g = cse(graph);
  assert.deepEqual(g.nodes.map((n) => n.op), ["exp", "mul"]);
  assert.deepEqual(g.nodes[1].inputs, [g.nodes[0].out, g.nodes[0].out]);
  // a jitted conv2d step computes im2col of x once (eager recomputes it for the kernel gradient)
  const img = new Variable(dz.ones([1, 2, 5, 5])), W = new Variable(dz.ones([3, 2, 3, 3]));
  const conv = trace((x, w) => {
    const y = F.sum(F.conv2d(x as V, w as V));
    y.backward();
    return y;
  }, [img, W]).graph;
  const gathers = (g: typeof conv) => g.nodes.filter((n) => n.op === "gather").length;
  assert.equal(gathers(conv), 2);
  assert.equal(gathers(cse(conv)), 1);
});

Deno.test("cse() keeps repeats that read an array written in place, random draws and results", () => {
  const p = new dz.Parameter(dz.array([1, 2, 3], { dtype: "float64" }));
  const fn = () => {
    const view = p.data.reshape(3, 1); // a view of the parameter's array
    const a = F.exp(view);
    p.data.isub(1); // in place: the same view now reads other values
    const b = F.exp(view);
    return F.sub(b, a);
  };
  const { graph } = trace(fn, []);
  assert.equal(cse(graph).nodes.filter((n) => n.op === "exp").length, 2);
  // the same through a view taken after an earlier in-place write
  const again = trace(() => {
    p.data.isub(1);
    return fn();
  }, []);
  assert.equal(cse(again.graph).nodes.filter((n) => n.op === "exp").length, 2);
  const step = jit(fn);
  step();
  const r = step() as V; // after three traces, a replay from p = [-3, -2, -1]: exp(p - 1) - exp(p)
  assert.deepEqual(Array.from(r.data.raw), [-3, -2, -1].map((v) => Math.exp(v - 1) - Math.exp(v)));
  const x = new Variable(dz.ones([4]));
  const twice = trace((x) => [F.exp(x as V), F.exp(x as V), F.dropout(x as V), F.dropout(x as V)], [
    x,
  ]);
  assert.deepEqual(cse(twice.graph).nodes.length, twice.graph.nodes.length);
});

Deno.test("fuse() puts an elementwise chain and its reduction into one loop", () => {
  const x = new Variable(dz.ones([4, 5]));
  const { graph } = trace((x) => F.sum(F.exp(F.sin(x as dz.Variable)), 1), [x]);
  const { steps } = fuse(dce(graph));
  assert.equal(steps.length, 1);
  assert.equal(steps[0].kind, "loop");
  if (steps[0].kind === "loop") {
    assert.deepEqual(steps[0].nodes.map((n) => n.op), ["sin", "exp", "sum"]);
  }
});

Deno.test("fuse() never fuses a reduction with a consumer that broadcasts it back (softmax)", () => {
  const x = new Variable(dz.ones([4, 5]));
  const { graph } = trace((x) => F.softmax(x as dz.Variable, 1), [x]);
  const steps = fuse(dce(graph)).steps;
  assert.ok(steps.length >= 2);
  for (const s of steps) {
    if (s.kind === "loop") {
      assert.ok(s.nodes.filter((n) => n.op === "max" || n.op === "sum").length <= 1);
    }
  }
});

Deno.test("fuse() absorbs a bias add and a ReLU into the product's store (inference)", () => {
  const x = new Variable(dz.ones([4, 3])), w = new Variable(dz.ones([3, 5]));
  const b = new Variable(dz.ones([5]));
  const { graph } = dz.noGrad(() =>
    trace((x, w, b) => F.relu(F.linear(x as V, w as V, b as V)), [x, w, b])
  );
  const { steps } = fuse(dce(graph));
  assert.equal(steps.length, 1);
  const s = steps[0];
  assert.ok(
    s.kind === "matmul" && s.relu &&
      s.bias === graph.values.find((v) => v.source?.kind === "arg" && v.source.index === 2)!.id,
  );
});

Deno.test("fuse() keeps a product's own store when something else reads it", () => {
  const x = new Variable(dz.ones([4, 3])), w = new Variable(dz.ones([3, 5]));
  const b = new Variable(dz.ones([5]));
  const { graph } = dz.noGrad(() =>
    trace((x, w, b) => {
      const y = F.matmul(x as V, w as V);
      return F.add(F.add(y, b as V), F.exp(y)); // y read twice
    }, [x, w, b])
  );
  const { steps } = fuse(dce(graph));
  const s = steps[0];
  assert.ok(s.kind === "matmul" && s.bias === null && !s.relu && s.out === s.node.out);
  // a row-broadcast [4, 1] operand is not a bias along the last axis
  const { graph: g2 } = dz.noGrad(() =>
    trace((x, w) => F.add(F.matmul(x as V, w as V), F.sum(x as V, 1, true)), [x, w])
  );
  const s2 = fuse(dce(g2)).steps.find((st) => st.kind === "matmul")!;
  assert.ok(s2.kind === "matmul" && s2.bias === null);
});

Deno.test("fold() computes single-value nodes over constants, with eager's rounding", () => {
  const x = new Variable(dz.ones([3], { dtype: "float32" }));
  const { graph } = trace((x) => F.mul(x as V, dz.array(1, { dtype: "float32" }).div(3)), [x]);
  assert.deepEqual(graph.nodes.map((n) => n.op), ["div", "mul"]);
  const g = fold(graph);
  assert.deepEqual(g.nodes.map((n) => n.op), ["mul"]);
  assert.equal(constantScalar(g, g.nodes[0].inputs[1]), Math.fround(1 / 3));
  // a constant changed in place later still makes the tape stale: its source stays
  assert.ok(g.values.some((v) => v.source?.kind === "const" && v.source.array.raw[0] === 1));
});

Deno.test("fuse() finishes a single-value reduction in the loop's epilogue (a mean)", () => {
  const x = new Variable(dz.ones([4, 5]));
  const { graph } = trace((x) => F.mul(F.mean(F.exp(x as V)), 2), [x]);
  const { steps } = fuse(dce(fold(graph)));
  assert.equal(steps.length, 1);
  const s = steps[0];
  assert.ok(s.kind === "loop");
  assert.deepEqual(s.nodes.map((n) => n.op), ["exp", "sum"]);
  assert.ok(s.epilogue.length >= 2, s.epilogue.map((n) => n.op).join());
});

Deno.test("plan() reuses a temporary buffer once its last reader has run", () => {
  const x = new Variable(dz.ones([4, 5]));
  const { graph } = trace((x) => {
    const v = x as dz.Variable;
    const a = F.sum(F.exp(v), 1, true); // temp [4,1]
    const b = F.sum(F.sin(v.sub(a)), 1, true); // reads a; new temp [4,1]
    const c = F.sum(F.cos(v.sub(b)), 1, true); // reads b; may reuse a's buffer
    return F.sum(c);
  }, [x]);
  const g = dce(graph);
  const p = plan(g, fuse(g));
  const temps = p.slots.filter((s) => s.kind === "temp");
  assert.ok(temps.length >= 1 && temps.length <= 2, `temps: ${temps.length}`);
  assert.equal(p.slots.filter((s) => s.kind === "pinned").length, 1);
});
