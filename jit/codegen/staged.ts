/**
 * Staged loops: a long flat fused loop that calls transcendental functions
 * runs tile by tile, each tile in stages. Vector calls (core/backend/simd/vecmath.ts) run
 * over whole tiles of `VEC`; the arithmetic between them runs as a
 * WebAssembly loop generated here (f64x2 operations rounded to float32 as
 * the JavaScript rounds), its last partial step and everything else as
 * JavaScript loops. The statements, and so the results, are the fused
 * loop's.
 * @module
 */
import {
  F64X2,
  op1,
  op2,
  SIMD_STEP,
  simdLoop,
  simdLoopIndex,
  VEC,
  type Vec,
  VEC_BASE,
  VECTORIZED,
} from "../../core/backend/mod.ts";

/** Elements per tile of a staged loop (its stage values stay in L1). */
export const TILE = 256;

/** One statement of a fused loop body. */
export interface Stmt {
  /** The name it defines ("" for the reduction's combine and stores). */
  name: string;
  /** A second name it defines (sin and cos of one value, computed together). */
  also?: string;
  /** Its line of code. */
  code: string;
  /** Loop-local names (values `v…`, loads `l…`) it reads. */
  deps: string[];
  /** Whether it calls a transcendental function (exp, log, sin...). */
  heavy: boolean;
  /** The vector function (core/backend/simd/vecmath.ts) that computes it over a tile, and its operand. */
  vector?: { fn: string; operand: string };
  /** Its f64x2 form (`nodeSimd`), for a WebAssembly loop. */
  simd?: { fn: string; args: string[]; round: boolean };
}

/** The names a statement defines. */
function defs(x: Stmt): string[] {
  return x.also ? [x.name, x.also] : x.name ? [x.name] : [];
}

/**
 * A flat loop of `size` elements run tile by tile, each tile in stages:
 * every transcendental call gets a stage of its own, the arithmetic between
 * them one loop per stage, and values crossing stages live in tiles of
 * `VEC` (core/backend/simd/vecmath.ts). (V8 compiles a small loop body much better than
 * one long body, with fewer spills and more iterations in flight.) A float32
 * call with a vector form (exp, log, sin, cos, tanh, sigmoid) runs over the
 * whole tile as WebAssembly SIMD after the loop writing its operands; the
 * arithmetic of a stage, where it can (`splitArithmetic`), as a WebAssembly
 * loop too. Values, and so results, are unchanged. Null when the tiles would
 * not fit in `VEC`.
 */
export function stagedLoop(size: number, all: Stmt[], loads: Map<string, string>): string | null {
  // depth = calls on the way to a statement. A call of depth d gets a loop of
  // its own at stage 2d - 1; stores and the reduction run at stage 2d; other
  // arithmetic runs in the earliest loop that reads it (computed as late as
  // possible, so it crosses few stages)
  const depth = new Map<string, number>();
  const segments: Segment[] = [];
  const seg = new Map<Stmt, number>();
  // stage -> the segment of its stores/reduction, or of its vector calls
  const shared = new Map<number, number>();
  const sharedAt = (stage: number) => {
    if (!shared.has(stage)) shared.set(stage, segments.push({ stage, stmts: [] }) - 1);
    return shared.get(stage)!;
  };
  const vector = (x: Stmt) => (VECTORIZED ? x.vector : undefined);
  for (const x of all) {
    const d = Math.max(0, ...x.deps.map((n) => depth.get(n) ?? 0)) + (x.heavy ? 1 : 0);
    for (const n of defs(x)) depth.set(n, d);
    // a scalar call gets a loop of its own; vector calls of a stage share one
    // loop (that only writes their operands), then run one after the other
    if (vector(x)) seg.set(x, sharedAt(2 * d - 1));
    else if (x.heavy) seg.set(x, segments.push({ stage: 2 * d - 1, stmts: [] }) - 1);
    else if (!x.name) seg.set(x, sharedAt(2 * d));
  }
  const runsBefore = (a: number, b: number) =>
    segments[a].stage < segments[b].stage || (segments[a].stage === segments[b].stage && a < b);
  for (let k = all.length - 1; k >= 0; k--) {
    const x = all[k];
    if (seg.has(x)) continue;
    let first = -1;
    for (const u of all) {
      const su = seg.get(u);
      if (su !== undefined && u.deps.includes(x.name) && (first < 0 || runsBefore(su, first))) {
        first = su;
      }
    }
    seg.set(x, first);
  }
  for (const x of all) segments[seg.get(x)!].stmts.push(x);
  if (VECTORIZED) splitArithmetic(segments, seg, loads);
  const home = new Map<string, number>(); // name -> segment index
  for (const x of all) for (const n of defs(x)) home.set(n, seg.get(x)!);
  const order = segments.map((_, k) => k).sort((a, b) => (runsBefore(a, b) ? -1 : 1));
  // a vector call reads its operand's tile when another loop computed it,
  // else a tile its own loop writes (an input element's own tile)
  const operandOf = (x: Stmt) => {
    const o = x.vector!.operand;
    return (home.has(o) && home.get(o) !== seg.get(x)) || loads.has(o) ? o : `${x.name}$in`;
  };
  const inTiles = new Set<string>(); // input elements some loop has copied into their tile
  // names read outside their segment, vector results and operands get tiles of VEC
  const tileOf = new Map<string, number>();
  const tile = (n: string) => {
    if (!tileOf.has(n)) tileOf.set(n, VEC_BASE + tileOf.size * TILE);
    return tileOf.get(n)!;
  };
  segments.forEach((s, k) => {
    for (const x of s.stmts) {
      for (const n of x.deps) {
        if ((home.has(n) && home.get(n) !== k) || (s.wasm && loads.has(n))) tile(n);
      }
      if (vector(x)) [...defs(x), operandOf(x)].forEach(tile);
    }
  });
  if (VEC_BASE + tileOf.size * TILE > VEC.length) return null;
  const at = (n: string) => `VEC[${tileOf.get(n)} + j]`;
  const loopsSrc = order.map((k) => {
    const s = segments[k];
    const calls = s.stmts.filter(vector);
    const copied = calls.filter((x) => !home.has(operandOf(x)));
    const computed = s.stmts.filter((x) => !vector(x));
    const used = new Set([
      ...computed.flatMap((x) => x.deps),
      ...copied.flatMap((x) => x.deps),
    ]);
    const lines = [
      ...[...loads].filter(([n]) => used.has(n)).map(([, code]) => code),
      ...[...used].filter((n) => home.has(n) && home.get(n) !== k).map((n) =>
        `const ${n} = ${at(n)};`
      ),
      ...computed.map((x) => x.code),
      ...copied.map((x) => `${at(operandOf(x))} = ${x.vector!.operand};`),
      ...computed.flatMap(defs).filter((n) => tileOf.has(n)).map((n) => `${at(n)} = ${n};`),
    ];
    for (const x of copied) inTiles.add(operandOf(x));
    const after = calls.map((x) =>
      `  ${x.vector!.fn}(${[operandOf(x), ...defs(x)].map((n) => tileOf.get(n)).join(", ")}, n);`
    );
    const loop = (from: string) =>
      `  for (let j = ${from}; j < n; j++) {\n    const i = b + j;\n    ${
        lines.join("\n    ")
      }\n  }`;
    if (s.wasm) {
      // inputs it reads are copied into tiles; the WebAssembly loop takes
      // whole steps of SIMD_STEP, the JS loop the rest
      const inputs = [...loads].filter(([n]) => used.has(n) && !inTiles.has(n));
      for (const [n] of inputs) inTiles.add(n);
      const copy = inputs.length === 0
        ? ""
        : `  for (let j = 0; j < n; j++) {\n    const i = b + j;\n    ${
          inputs.map(([n, code]) => `${code} ${at(n)} = ${n};`).join("\n    ")
        }\n  }\n`;
      const fn = simdSegment(computed, tileOf);
      const head = `  // ${fn}: the loop below as WebAssembly, over whole steps of ${SIMD_STEP}`;
      return `${copy}${head}\n  ${fn}(0, n - n % ${SIMD_STEP});\n${loop(`n - n % ${SIMD_STEP}`)}`;
    }
    return [...(lines.length > 0 ? [loop("0")] : []), ...after].join("\n");
  });
  return `for (let b = 0; b < ${size}; b += ${TILE}) {\n  const n = ${size} - b < ${TILE} ? ${size} - b : ${TILE};\n${
    loopsSrc.join("\n")
  }\n}`;
}

/** A stage of a staged loop: its statements, and whether they run as WebAssembly. */
interface Segment {
  stage: number;
  stmts: Stmt[];
  wasm?: boolean;
}

/**
 * Moves the arithmetic of each loop that calls no scalar function into a
 * WebAssembly loop run just before it (`simdSegment`; the input elements it
 * reads are copied into tiles first): its f64x2 operations and float32
 * roundings are JS's, two lanes at a time (JS rounds with two scalar
 * conversions per value: 3x slower). Not for a single operation, or when
 * one has no f64x2 form or reads a scalar hoisted out of the loop.
 */
function splitArithmetic(
  segments: Segment[],
  seg: Map<Stmt, number>,
  loads: Map<string, string>,
): void {
  const count = segments.length;
  const eligible = (x: Stmt) =>
    x.simd !== undefined && x.deps.every((n) => n[0] !== "l" || loads.has(n));
  for (let k = 0; k < count; k++) {
    const s = segments[k];
    if (s.stmts.some((x) => x.heavy && !x.vector)) continue;
    const arith = s.stmts.filter((x) => x.name && !x.vector);
    if (arith.length < 2 || !arith.every(eligible)) continue;
    const w = segments.push({ stage: s.stage - 0.5, stmts: arith, wasm: true }) - 1;
    for (const x of arith) seg.set(x, w);
    s.stmts = s.stmts.filter((x) => !arith.includes(x));
  }
}

/**
 * The WebAssembly loop of a segment's statements (all with a `simd` form)
 * over tiles of `VEC`: reads its inputs' tiles, writes the tiles of the
 * names other segments read; returns the JS expression calling it.
 */
function simdSegment(stmts: Stmt[], tileOf: Map<string, number>): string {
  const fn = simdLoop("f", 1, (b) => {
    const values = new Map<string, Vec>();
    const value = (x: string) => {
      if (x[0] === "(") return b.c(Number(x.slice(1, -1)));
      if (!values.has(x)) values.set(x, b.let(b.load(0, tileOf.get(x)! * 8)));
      return values.get(x)!;
    };
    for (const x of stmts) {
      const f = x.simd!;
      const args = f.args.map(value);
      let e = f.fn === "copy" ? args[0] : F64X2_OPS[f.fn](args);
      if (f.round) e = op1(F64X2.fround)(e);
      const v = b.let(e);
      values.set(x.name, v);
      if (tileOf.has(x.name)) b.store(0, tileOf.get(x.name)! * 8, v);
    }
  });
  return `SEG[${simdLoopIndex(fn)}]`;
}

/** The f64x2 instructions a `simd` form names. */
const F64X2_OPS: Record<string, (args: Vec[]) => Vec> = {
  add: ([a, b]) => op2(F64X2.add)(a, b),
  sub: ([a, b]) => op2(F64X2.sub)(a, b),
  mul: ([a, b]) => op2(F64X2.mul)(a, b),
  div: ([a, b]) => op2(F64X2.div)(a, b),
  neg: ([a]) => op1(F64X2.neg)(a),
  abs: ([a]) => op1(F64X2.abs)(a),
  sqrt: ([a]) => op1(F64X2.sqrt)(a),
};
