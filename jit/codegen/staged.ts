/**
 * Staged loops: a long flat fused loop that calls transcendental functions
 * runs tile by tile, each tile in stages. Vector calls
 * (core/backend/simd/vecmath.ts) run over whole tiles of `VEC`; the
 * arithmetic between them runs as a WebAssembly loop generated here (f64x2
 * operations rounded to float32 as the JavaScript rounds), its last partial
 * step and everything else as JavaScript loops. The statements, and so the
 * results, are the fused loop's.
 * @module
 */
import {
  F32X4,
  F64X2,
  loopModule,
  op1,
  op2,
  SIMD_STEP,
  SIMD_STEP32,
  simdLoop,
  VEC,
  type Vec,
  VEC_BASE,
  VECTORIZED,
} from "../../core/backend/mod.ts";
import { type DeclareWasm, isLit } from "./source.ts";

/** Elements per tile of a staged loop (its stage values stay in L1). */
const TILE = 256;

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
  /** The vector function (vecmath) that computes it over a tile, and its operand. */
  vector?: { fn: string; operand: string };
  /**
   * Its lane form, for a WebAssembly loop: `round`, rounded to float32 (f64x2
   * lanes); `f32`, its operands and result all float32, so that f32x4 lanes
   * compute it as it is (the float32 operation equals the rounded float64 one).
   */
  simd?: { fn: string; args: string[]; round: boolean; f32: boolean };
}

/** The names a statement defines. */
function defs(x: Stmt): string[] {
  return x.also ? [x.name, x.also] : x.name ? [x.name] : [];
}

/** A statement's vector form, where the code calls vector kernels (`on`). */
const vector = (x: Stmt, on: boolean) => (on ? x.vector : undefined);

/**
 * One loop of a tile: its statements, at a stage. Stage numbers order the
 * loops: a call of depth d (d calls on the way to it) runs at stage 2d - 1,
 * what reads its result at stage 2d. A WebAssembly segment (`wasm`) runs
 * just before the JavaScript loop of its stage that it was split from.
 */
interface Segment {
  stage: number;
  stmts: Stmt[];
  wasm?: boolean;
}

/** Whether segment `a` runs before segment `b` (their indices in `segments`). */
function runsBefore(segments: Segment[], a: number, b: number): boolean {
  const [sa, sb] = [segments[a], segments[b]];
  if (sa.stage !== sb.stage) return sa.stage < sb.stage;
  if (!!sa.wasm !== !!sb.wasm) return !!sa.wasm;
  return a < b;
}

/**
 * The segments of a tile and the segment of each statement. Every call gets
 * a stage by its depth: a scalar call a loop of its own; the vector calls
 * of a stage share one loop (that only writes their operands) and then run
 * one after the other; stores and the reduction run at the even stage of
 * their depth; other arithmetic in the earliest loop that reads it
 * (computed as late as possible, so it crosses few stages).
 */
function assignStages(
  all: Stmt[],
  vectors: boolean,
): { segments: Segment[]; seg: Map<Stmt, number> } {
  const depth = new Map<string, number>();
  const segments: Segment[] = [];
  const seg = new Map<Stmt, number>();
  const shared = new Map<number, number>(); // stage -> its shared segment
  const sharedAt = (stage: number) => {
    if (!shared.has(stage)) shared.set(stage, segments.push({ stage, stmts: [] }) - 1);
    return shared.get(stage)!;
  };
  for (const x of all) {
    const d = Math.max(0, ...x.deps.map((n) => depth.get(n) ?? 0)) + (x.heavy ? 1 : 0);
    for (const n of defs(x)) depth.set(n, d);
    if (vector(x, vectors)) seg.set(x, sharedAt(2 * d - 1));
    else if (x.heavy) seg.set(x, segments.push({ stage: 2 * d - 1, stmts: [] }) - 1);
    else if (!x.name) seg.set(x, sharedAt(2 * d));
  }
  for (let k = all.length - 1; k >= 0; k--) {
    const x = all[k];
    if (seg.has(x)) continue;
    let first = -1;
    for (const u of all) {
      const su = seg.get(u);
      if (
        su !== undefined && u.deps.includes(x.name) &&
        (first < 0 || runsBefore(segments, su, first))
      ) first = su;
    }
    seg.set(x, first);
  }
  for (const x of all) segments[seg.get(x)!].stmts.push(x);
  return { segments, seg };
}

/**
 * Moves the arithmetic of each loop that calls no scalar function into a
 * WebAssembly segment run just before it (the input elements it reads are
 * copied into tiles first): its f64x2 operations and float32 roundings are
 * JS's, two lanes at a time (JS rounds with two scalar conversions per
 * value: 3x slower). Not for a single operation, or when one has no f64x2
 * form or reads a scalar hoisted out of the loop.
 */
function splitArithmetic(
  segments: Segment[],
  seg: Map<Stmt, number>,
  loads: Map<string, string>,
): void {
  const eligible = (x: Stmt) =>
    x.simd !== undefined && x.deps.every((n) => n[0] !== "l" || loads.has(n));
  for (const s of [...segments]) {
    if (s.stmts.some((x) => x.heavy && !x.vector)) continue;
    const arith = s.stmts.filter((x) => x.name && !x.vector);
    if (arith.length < 2 || !arith.every(eligible)) continue;
    const w = segments.push({ stage: s.stage, stmts: arith, wasm: true }) - 1;
    for (const x of arith) seg.set(x, w);
    s.stmts = s.stmts.filter((x) => !arith.includes(x));
  }
}

/**
 * A flat loop of `size` elements run tile by tile, each tile in stages (see
 * `assignStages`), with values crossing stages in tiles of `VEC`. (V8
 * compiles a small loop body much better than one long body, with fewer
 * spills and more iterations in flight.) A float32 call with a vector form
 * (exp, log, sin, cos, tanh, sigmoid) runs over the whole tile as
 * WebAssembly SIMD; the arithmetic of a stage, where it can, as a
 * WebAssembly loop too (declared through `wasm`; with `wasm` null, for code
 * that runs without WebAssembly, neither). Values, and so results, are
 * unchanged. Null when the tiles would not fit in `VEC`.
 */
export function stagedLoop(
  size: number,
  all: Stmt[],
  loads: Map<string, string>,
  wasm: DeclareWasm | null,
): string | null {
  const vectors = VECTORIZED && wasm !== null;
  const { segments, seg } = assignStages(all, vectors);
  if (vectors) splitArithmetic(segments, seg, loads);
  const tiles = new Tiles(segments, seg, all, loads, vectors);
  if (tiles.overflows) return null;
  const order = segments.map((_, k) => k).sort((a, b) => (runsBefore(segments, a, b) ? -1 : 1));
  const loops = order.map((k) => tiles.segmentSource(k, wasm!));
  return `for (let b = 0; b < ${size}; b += ${TILE}) {\nconst n = ${size} - b < ${TILE} ? ${size} - b : ${TILE};\n${
    loops.join("\n")
  }\n}`;
}

/**
 * Where a staged loop's values live between its loops: a name read outside
 * its segment, a vector call's operand and results get a tile of `VEC`.
 */
class Tiles {
  /** Name -> the segment that computes it. */
  readonly home = new Map<string, number>();
  /** Name -> its tile's first element in `VEC`. */
  readonly at = new Map<string, number>();
  /** Input elements some loop has already copied into their tile. */
  readonly copied = new Set<string>();

  constructor(
    readonly segments: Segment[],
    readonly seg: Map<Stmt, number>,
    all: Stmt[],
    readonly loads: Map<string, string>,
    readonly vectors: boolean,
  ) {
    for (const x of all) for (const n of defs(x)) this.home.set(n, seg.get(x)!);
    segments.forEach((s, k) => {
      for (const x of s.stmts) {
        for (const n of x.deps) {
          if ((this.home.has(n) && this.home.get(n) !== k) || (s.wasm && loads.has(n))) {
            this.tile(n);
          }
        }
        if (vector(x, vectors)) [...defs(x), this.operandOf(x)].forEach((n) => this.tile(n));
      }
    });
  }

  /** Whether the tiles need more of `VEC` than there is. */
  get overflows(): boolean {
    return VEC_BASE + this.at.size * TILE > VEC.length;
  }

  tile(n: string): number {
    if (!this.at.has(n)) this.at.set(n, VEC_BASE + this.at.size * TILE);
    return this.at.get(n)!;
  }

  /** `VEC[tile + j]`: element j of `n`'s tile. */
  ref(n: string): string {
    return `VEC[${this.at.get(n)} + j]`;
  }

  /**
   * A vector call reads its operand's tile when another loop computed it,
   * else a tile its own loop writes (an input element's own tile).
   */
  operandOf(x: Stmt): string {
    const o = x.vector!.operand;
    return (this.home.has(o) && this.home.get(o) !== this.seg.get(x)) || this.loads.has(o)
      ? o
      : `${x.name}$in`;
  }

  /** The source of segment `k`: its loop (or WebAssembly call), then its vector calls. */
  segmentSource(k: number, wasm: DeclareWasm): string {
    const s = this.segments[k];
    const calls = s.stmts.filter((x) => vector(x, this.vectors));
    const copied = calls.filter((x) => !this.home.has(this.operandOf(x)));
    const computed = s.stmts.filter((x) => !vector(x, this.vectors));
    const used = new Set([...computed.flatMap((x) => x.deps), ...copied.flatMap((x) => x.deps)]);
    const lines = [
      ...[...this.loads].filter(([n]) => used.has(n)).map(([, code]) => code),
      ...[...used].filter((n) => this.home.has(n) && this.home.get(n) !== k).map((n) =>
        `const ${n} = ${this.ref(n)};`
      ),
      ...computed.map((x) => x.code),
      ...copied.map((x) => `${this.ref(this.operandOf(x))} = ${x.vector!.operand};`),
      ...computed.flatMap(defs).filter((n) => this.at.has(n)).map((n) => `${this.ref(n)} = ${n};`),
    ];
    for (const x of copied) this.copied.add(this.operandOf(x));
    const after = calls.map((x) =>
      `${x.vector!.fn}(${
        [this.operandOf(x), ...defs(x)].map((n) => this.at.get(n)).join(", ")
      }, n);`
    );
    const index = lines.some((l) => /\bi\b/.test(l)) ? "const i = b + j;\n" : "";
    const loop = (from: string) =>
      `for (let j = ${from}; j < n; j++) {\n${index}${lines.join("\n")}\n}`;
    if (!s.wasm) return [...(lines.length > 0 ? [loop("0")] : []), ...after].join("\n");
    // the input elements it reads are copied into tiles; the WebAssembly
    // loop takes whole steps of SIMD_STEP, the JS loop the rest
    const inputs = [...this.loads].filter(([n]) => used.has(n) && !this.copied.has(n));
    for (const [n] of inputs) this.copied.add(n);
    const copy = inputs.length === 0
      ? ""
      : `for (let j = 0; j < n; j++) {\nconst i = b + j;\n${
        inputs.map(([n, code]) => `${code} ${this.ref(n)} = ${n};`).join("\n")
      }\n}\n`;
    const f32 = computed.every((x) => x.simd!.f32), step = f32 ? SIMD_STEP32 : SIMD_STEP;
    const fn = wasm(loopModule(this.simdLoop(computed, f32)));
    return `${copy}// ${fn}: the loop below as WebAssembly (${
      f32 ? "f32x4" : "f64x2"
    }), over whole steps of ${step}\n${fn}(0, n - n % ${step});\n${loop(`n - n % ${step}`)}`;
  }

  /**
   * The WebAssembly loop of a segment's statements (all with a `simd` form)
   * over tiles of `VEC`: reads its inputs' tiles, writes the tiles of the
   * names other segments read; in f32x4 lanes (`f32`) where every statement
   * computes in float32, else in f64x2 lanes rounded as the JavaScript rounds.
   */
  simdLoop(stmts: Stmt[], f32: boolean) {
    const OPS = f32 ? F32X4_OPS : F64X2_OPS;
    return simdLoop("f", 1, (b) => {
      const values = new Map<string, Vec>();
      const value = (x: string) => {
        if (isLit(x)) return b.c(Number(x.replace(/[()]/g, "")));
        if (!values.has(x)) values.set(x, b.let(b.load(0, this.at.get(x)! * 8)));
        return values.get(x)!;
      };
      for (const x of stmts) {
        const f = x.simd!;
        const args = f.args.map(value);
        let e = f.fn === "copy" ? args[0] : OPS[f.fn](args);
        if (f.round && !f32) e = op1(F64X2.fround)(e);
        const v = b.let(e);
        values.set(x.name, v);
        if (this.at.has(x.name)) b.store(0, this.at.get(x.name)! * 8, v);
      }
    }, f32);
  }
}

/** The instructions a `simd` form names, of one lane type. */
const laneOps = (t: typeof F64X2 | typeof F32X4): Record<string, (args: Vec[]) => Vec> => ({
  add: ([a, b]) => op2(t.add)(a, b),
  sub: ([a, b]) => op2(t.sub)(a, b),
  mul: ([a, b]) => op2(t.mul)(a, b),
  div: ([a, b]) => op2(t.div)(a, b),
  neg: ([a]) => op1(t.neg)(a),
  abs: ([a]) => op1(t.abs)(a),
  sqrt: ([a]) => op1(t.sqrt)(a),
});
const F64X2_OPS = laneOps(F64X2), F32X4_OPS = laneOps(F32X4);
