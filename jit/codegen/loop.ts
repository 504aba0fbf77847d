/**
 * The JavaScript source of one fused loop: elementwise chains and the
 * reduction they feed, with sizes, strides and literal constants baked in
 * (staged over tiles when it calls transcendental functions:
 * jit/codegen/staged.ts). Only numbers and identifiers the JIT makes reach
 * the source (and the WebAssembly code); op names appear in comments
 * sanitised.
 * @module
 */
import type { DType } from "../../core/array/dtype.ts";
import { broadcastStrides, reducedShape, sizeOf, stridesOf } from "../../core/array/shape_rules.ts";
import { mergeAxes } from "../../core/backend/mod.ts";
import {
  ELEMENTWISE,
  type ElementwiseOp,
  type ElementwiseSpec,
  isElementwise,
  isReduction,
  REDUCTIONS,
} from "../../core/registry.ts";
import { constantScalar, type Graph, type Node, type NodeOp } from "../ir.ts";
import type { LoopStep } from "../passes/fusion.ts";
import { type KernelSource, lit, round, subst, word } from "./source.ts";
import { stagedLoop, type Stmt, TILE } from "./staged.ts";

/** The registry entry of an op a fused loop computes elementwise. */
function specOf(op: NodeOp): ElementwiseSpec {
  if (!isElementwise(op)) throw new Error(`jit: ${op} is not an elementwise op`);
  return ELEMENTWISE[op];
}

/**
 * An elementwise-like node as an op over operands, simplified: a view, a
 * cast or `x ** 1` is a copy, `x ** 2` is `x * x`, `x * 1` is `x`; `exact`:
 * whether its result needs no rounding to the output dtype (a copy, or an
 * exact op, over operands that already have it: `same`).
 */
function simplify(
  n: Node,
  a: string,
  b: string,
  same: boolean,
): { op: ElementwiseOp; args: [string, string]; exact: boolean } {
  const copy = (x: string) => ({
    op: "copy" as const,
    args: [x, x] as [string, string],
    exact: same,
  });
  if (n.op === "transpose" || n.op === "cast") return copy(a);
  if (n.op === "pow" && b === lit(2)) return { op: "mul", args: [a, a], exact: false };
  if (n.op === "pow" && b === lit(1)) return copy(a);
  if (n.op === "mul" && same && (a === lit(1) || b === lit(1))) return copy(a === lit(1) ? b : a);
  const spec = specOf(n.op);
  return { op: spec.name, args: [a, b], exact: spec.exact && same };
}

/** The JS expression of an elementwise-like node over operand names. */
function nodeExpr(n: Node, a: string, b: string, dtype: DType, same: boolean): string {
  const f = simplify(n, a, b, same);
  if (f.op === "copy") return f.exact ? f.args[0] : round(f.args[0], dtype);
  const spec = ELEMENTWISE[f.op];
  const expr = dtype === "float32" && spec.expr32 ? spec.expr32 : spec.expr;
  const names: Record<string, string> = { a: f.args[0], b: f.args[1] };
  if (n.attrs.p0 !== undefined) names.p0 = lit(n.attrs.p0);
  if (n.attrs.p1 !== undefined) names.p1 = lit(n.attrs.p1);
  if (spec.params > 0 && names.p0 === undefined) names.p0 = "0";
  if (spec.params > 1 && names.p1 === undefined) names.p1 = "0";
  const e = `(${subst(expr, names)})`;
  return f.exact ? e : round(e, dtype);
}

/**
 * The same node as an f64x2 instruction over operands (`copy` for none)
 * and whether to round to float32 after it, for a WebAssembly loop;
 * undefined when it has no such form (or an int32 result, which rounds by
 * truncation).
 */
function nodeSimd(n: Node, a: string, b: string, dtype: DType, same: boolean): Stmt["simd"] {
  if (dtype === "int32") return undefined;
  const f = simplify(n, a, b, same);
  const round = dtype === "float32" && !f.exact;
  if (f.op === "copy") return { fn: "copy", args: [f.args[0]], round };
  const spec = ELEMENTWISE[f.op];
  if (spec.simd === undefined) return undefined;
  // a unary op's operand twice: a two-operand instruction (square: mul) takes both
  return { fn: spec.simd, args: spec.arity === 1 ? [f.args[0], f.args[0]] : f.args, round };
}

/** Strides (over the node's iteration shape) of input `k`'s flat index. */
function readStrides(g: Graph, n: Node, k: number, shape: number[]): number[] {
  const x = g.values[n.inputs[k]];
  if (isReduction(n.op)) return stridesOf(shape);
  if (n.op === "transpose") {
    const s = stridesOf(x.shape);
    return (n.attrs.axes as number[]).map((a) => (x.shape[a] === 1 ? 0 : s[a]));
  }
  return broadcastStrides(x.shape, shape);
}

/**
 * After a loop reducing to one value (in `acc`): the value rounded to its
 * dtype, stored if anything reads it, and the loop's epilogue nodes on it.
 */
function finish(
  g: Graph,
  step: LoopStep,
  red: Node,
  slot: (v: number) => string,
  param: (name: string) => string,
): string {
  const dtype = g.values[red.out].dtype;
  const names = new Map([[red.out, `v${red.out}`]]);
  const lines = [`const v${red.out} = ${round("acc", dtype)};`];
  const store = (v: number) => {
    if (step.stores.includes(v)) lines.push(`${param(slot(v))}[0] = v${v};`);
  };
  store(red.out);
  for (const n of step.epilogue) {
    const ops = n.inputs.map((u) => {
      const c = constantScalar(g, u);
      return names.get(u) ?? (c === undefined ? `${param(slot(u))}[0]` : lit(c));
    });
    const out = g.values[n.out].dtype;
    const same = n.inputs.every((u) => g.values[u].dtype === out);
    lines.push(`const v${n.out} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out, same)};`);
    names.set(n.out, `v${n.out}`);
    store(n.out);
  }
  return lines.join("\n");
}

/**
 * Merges each float32 `sin(u)` with a `cos(u)` of the same operand into one
 * `sincos32` call (one reduction, one pair of polynomials; same values).
 */
function shareSinCos(stmts: Stmt[], trig: { op: string; operand: string; at: number }[]): Stmt[] {
  const drop = new Set<number>(), paired = new Set<number>();
  for (const s of trig) {
    if (s.op !== "sin") continue;
    const c = trig.find((t) => t.op === "cos" && t.operand === s.operand && !paired.has(t.at));
    if (c === undefined) continue;
    paired.add(c.at);
    const first = Math.min(s.at, c.at);
    const [sin, cos] = [stmts[s.at].name, stmts[c.at].name];
    stmts[first] = {
      name: sin,
      also: cos,
      code:
        `const ${sin} = Math.fround(sincos32(${s.operand})); const ${cos} = Math.fround(lastCos32());`,
      deps: stmts[s.at].deps,
      heavy: true,
      vector: { fn: "vsincos", operand: s.operand },
    };
    drop.add(Math.max(s.at, c.at));
  }
  return stmts.filter((_, k) => !drop.has(k));
}

/** Source of a fused loop step; `slot(v)` names the buffer of value `v`. */
export function loopSource(g: Graph, step: LoopStep, slot: (v: number) => string): KernelSource {
  const shape = step.shape;
  const inside = new Map<number, string>();
  const params: string[] = [];
  const param = (name: string) => {
    if (!params.includes(name)) params.push(name);
    return name;
  };
  const reads: { buf: string; strides: number[]; local: string }[] = [];
  let stmts: Stmt[] = [];
  const red = step.nodes.find((n) => isReduction(n.op));
  const redStrides = red
    ? (() => {
      const axes = red.attrs.axes as number[];
      return stridesOf(reducedShape(shape, axes, true)).map((s, d) => (axes.includes(d) ? 0 : s));
    })()
    : shape.map(() => 0);
  const leaf = (buf: string, strides: number[]) => {
    const key = strides.join(",");
    let r = reads.find((x) => x.buf === buf && x.strides.join(",") === key);
    if (!r) {
      r = { buf: param(buf), strides, local: `l${reads.length}` };
      reads.push(r);
    }
    return r.local;
  };
  const local = (x: string) => /^[vl]\d+$/.test(x);
  const trig: { op: string; operand: string; at: number }[] = [];
  let reduced = ""; // the operand of the reduction
  for (const n of step.nodes) {
    const ops = n.inputs.map((u, k) => {
      const c = constantScalar(g, u);
      return inside.get(u) ??
        (c === undefined ? leaf(slot(u), readStrides(g, n, k, shape)) : lit(c));
    });
    if (isReduction(n.op)) {
      reduced = ops[0];
      continue;
    }
    const out = g.values[n.out];
    const name = `v${n.out}`;
    const same = n.inputs.every((u) => g.values[u].dtype === out.dtype);
    if (n.op === "copy" && same && ops[0].startsWith("(")) {
      inside.set(n.out, ops[0]); // a constant broadcast (a gradient's seed): its literal
      continue;
    }
    if ((n.op === "sin" || n.op === "cos") && out.dtype === "float32") {
      trig.push({ op: n.op, operand: ops[0], at: stmts.length });
    }
    const spec = isElementwise(n.op) ? ELEMENTWISE[n.op] : undefined;
    const vec = out.dtype === "float32" ? spec?.vec32 : undefined;
    stmts.push({
      name,
      code: `const ${name} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out.dtype, same)};`,
      deps: ops.filter(local),
      heavy: spec?.expr32 !== undefined,
      vector: vec === undefined ? undefined : { fn: vec, operand: ops[0] },
      simd: nodeSimd(n, ops[0], ops[1] ?? "0", out.dtype, same),
    });
    inside.set(n.out, name);
  }
  stmts = shareSinCos(stmts, trig);
  const contiguous = stridesOf(shape);
  const m = mergeAxes(shape, [contiguous, redStrides, ...reads.map((r) => r.strides)]);
  const rank = m.shape.length;
  const idx = (strides: number[]) => {
    if (strides.every((s) => s === 0)) return "0";
    if (strides.join() === m.strides[0].join()) return "i";
    return strides.map((s, d) => (s === 0 ? "" : `i${d} * ${s}`)).filter(Boolean).join(" + ");
  };
  const pre: string[] = [];
  const loads = new Map<string, string>();
  reads.forEach((r, k) => {
    const st = m.strides[2 + k];
    if (st.every((s) => s === 0)) pre.push(`const ${r.local} = ${r.buf}[0];`);
    else loads.set(r.local, `const ${r.local} = ${r.buf}[${idx(st)}];`);
  });
  const stores: Stmt[] = step.stores.filter((v) => inside.has(v)).map((v) => ({
    name: "",
    code: `${param(slot(v))}[i] = ${inside.get(v)};`,
    deps: [inside.get(v)!],
    heavy: false,
  }));
  let post = "";
  let scratch = 0;
  let full = true;
  if (red) {
    const spec = REDUCTIONS[red.op as keyof typeof REDUCTIONS];
    full = m.strides[1].every((s) => s === 0);
    const deps = local(reduced) ? [reduced] : [];
    if (full) {
      pre.push(`let acc = ${lit(Number(spec.identity))};`);
      stmts.push({
        name: "",
        code: `acc = ${subst(spec.combine, { a: reduced })};`,
        deps,
        heavy: false,
      });
      post = finish(g, step, red, slot, param);
    } else {
      const out = param(slot(red.out));
      const size = sizeOf(g.values[red.out].shape);
      const acc = g.values[red.out].dtype === "float64" ? out : param("scratch");
      scratch = acc === out ? 0 : size;
      pre.push(`${acc}.fill(${lit(Number(spec.identity))});`);
      const code = `{ const q = ${idx(m.strides[1])}; const acc = ${acc}[q]; ${acc}[q] = ${
        subst(spec.combine, { a: reduced })
      }; }`;
      stmts.push({ name: "", code, deps, heavy: false });
      if (acc !== out) post = `${out}.set(${acc});`;
    }
  }
  const all = [...stmts, ...stores];
  let loops: string;
  // staging re-reads inputs in later stages: not when the loop writes one in place
  const inPlace = step.stores.some((v) => reads.some((r) => r.buf === slot(v)));
  const staged = rank === 1 && full && !inPlace && m.shape[0] >= 2 * TILE &&
      stmts.some((x) => x.heavy)
    ? stagedLoop(m.shape[0], all, loads)
    : null;
  if (staged !== null) loops = staged;
  else {
    const inner = [...loads.values(), ...all.map((x) => "  " + x.code)].join("\n");
    if (rank === 0) loops = `{\n  const i = 0;\n${inner}\n}`;
    else if (rank === 1) loops = `for (let i = 0; i < ${m.shape[0]}; i++) {\n${inner}\n}`;
    else {
      loops = "let i = 0;\n";
      for (let d = 0; d < rank; d++) {
        loops += `for (let i${d} = 0; i${d} < ${m.shape[d]}; i${d}++${
          d === rank - 1 ? ", i++" : ""
        }) {\n`;
      }
      loops += inner + "\n" + "}".repeat(rank);
    }
  }
  const comment = `// fused: ${
    [...step.nodes, ...step.epilogue].map((n) => word(n.op)).join(", ")
  }`;
  return {
    body: [`"use strict";`, comment, ...pre, loops, post].filter(Boolean).join("\n"),
    params,
    scratch,
  };
}
