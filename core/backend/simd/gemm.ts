/**
 * The WebAssembly SIMD gemm: `C = op(A) @ op(B) (+ bias) (then ReLU)` for
 * float32 (f32x4 lanes, float32 sums) and float64 (f64x2), generated with
 * the emitter of core/backend/simd/wasm.ts; small, int32 and mixed
 * float32/float64 products, and every product where WebAssembly SIMD is
 * missing, run the scalar JS gemm of core/backend/cpu/gemm.ts.
 *
 * How it works:
 * - `prepareGemm` packs op(A) into panels of MR rows and op(B) into panels
 *   of NR columns (element p of a panel's row or column contiguous along
 *   k, zero-padded past m and n), and the bias into NR-padded columns, all
 *   in the module's memory: a transposed operand costs nothing more, it is
 *   read through strides while packing.
 * - `gemmRows(plan, p0, p1)` computes the C rows of A panels [p0, p1) in
 *   WebAssembly: blocks of KC steps of k, MCP A panels at a time (they stay
 *   in L2), each B panel's block (KC x NR, in L1) swept over them by the
 *   micro-kernel, which keeps an MR x NR tile of C in v128 registers,
 *   multiply-adds (`relaxed_madd` where the engine takes it: fused on FMA
 *   hardware) along the block's steps from zero, then adds the tile to C's
 *   running sums (after the loop: the loads of C wait for no one), and
 *   after the last block adds the bias and applies the ReLU.
 * - `finishGemm` copies the rows and columns of C that exist out.
 *
 * Each element of C is the same sum whatever tile it falls in or range of
 * rows a call computes: per block of KC steps, a chain of multiply-adds in
 * the order of p, and the blocks' chains added in order. Splitting rows over
 * workers (which instantiate `GEMM_WASM.bytes` over the same shared memory
 * and call `rows32` / `rows64`) gives the bits of one call.
 * @module
 */
import type { TypedArray } from "../../array/dtype.ts";
import { gemm as scalarGemm, isSmallGemm } from "../cpu/gemm.ts";
import { parallelism, type PoolModule, registerModule, runRanges } from "../pool.ts";
import {
  assemble,
  type Code,
  F64X2,
  get,
  I32,
  i32,
  I32_ADD,
  I32_SHL,
  I32_SUB,
  type MemoryImport,
  set,
  simd,
  tee,
  uleb,
  V128,
  vLoad,
  vStore,
  type WasmFunction,
  whileLt,
} from "./wasm.ts";

/** Rows of a micro-tile (an A panel's width). */
const MR = 6;
/** v128 vectors across a micro-tile's row (NR = V * lanes columns, a B panel's width). */
const V = 2;
/** Steps of k per iteration of the micro-kernel's loop. */
const UNROLL = 2;
/** Steps of k per block. */
const KC = 256;
/** A panels per block of rows. */
const MCP = 16;
/** The memory's most pages (2 GiB): larger products run the scalar gemm. */
const MAX_PAGES = 32768;

const I32_MUL: Code = [0x6c], I32_LT_U: Code = [0x49];
const I32_EQZ: Code = [0x45], I32_EQ: Code = [0x46], I32_AND: Code = [0x71];
const I32_OR: Code = [0x72], SELECT: Code = [0x1b];
const IF: Code = [0x04, 0x40], ELSE: Code = [0x05], END: Code = [0x0b];
const call = (f: number): Code => [0x10, ...uleb(f)];

/** The instructions of one lane type. */
interface Lanes {
  /** Bytes per element. */
  es: number;
  /** `v128.loadN_splat` at an offset. */
  splat: (offset: number) => Code;
  /** Lane-wise `a + b`. */
  add: Code;
  /** Lane-wise `a * b`. */
  mul: Code;
  /** `a < b ? b : a` per lane (ReLU against zero keeps NaN and -0). */
  pmax: Code;
  /** `relaxed_madd` (a * b + c). */
  madd: Code;
}

const F32: Lanes = {
  es: 4,
  splat: (offset) => simd(0x09, 2, ...uleb(offset)),
  add: simd(0xe4),
  mul: simd(0xe6),
  pmax: simd(0xeb),
  madd: simd(0x105),
};
const F64: Lanes = {
  es: 8,
  splat: (offset) => simd(0x0a, 3, ...uleb(offset)),
  add: F64X2.add,
  mul: F64X2.mul,
  pmax: F64X2.pmax,
  madd: simd(0x107),
};

/** Local `x` += `n`. */
const inc = (x: number, n: number): Code => [...get(x), ...i32(n), ...I32_ADD, ...set(x)];

/** Flags of a `rows` call and of a tile (`mode`). */
const FIRST = 1, LAST = 2, BIAS = 4, RELU = 8;

/**
 * The micro-kernel `tile(a, b, c, kc, ldc, mode, d)`: the MR x NR tile of C
 * at byte address `c` (rows `ldc` bytes apart) plus (or, in a FIRST block,
 * set to) the products of the A panel block at `a` and the B panel block at
 * `b` over `kc` steps; in the LAST block, plus the NR bias values at `d`
 * (BIAS), then the ReLU (RELU).
 */
function tile(t: Lanes, fused: boolean): WasmFunction {
  const NR = V * (16 / t.es);
  const a = 0, b = 1, c = 2, kc = 3, ldc = 4, mode = 5, d = 6, end = 7, cr = 8, end2 = 9;
  const acc = (r: number, v: number) => 10 + r * V + v;
  const bv = (v: number) => 10 + MR * V + v, s = 10 + MR * V + V, zero = s + 1;
  const each = (f: (r: number, v: number) => Code): Code => {
    const out: Code = [];
    for (let r = 0; r < MR; r++) for (let v = 0; v < V; v++) out.push(...f(r, v));
    return out;
  };
  /** Each row's vectors by `f(r, v)`, with local `cr` at the row. */
  const rowsOfC = (f: (r: number, v: number) => Code): Code => [
    ...get(c),
    ...set(cr),
    ...each((
      r,
      v,
    ) => [...f(r, v), ...(v === V - 1 ? [...get(cr), ...get(ldc), ...I32_ADD, ...set(cr)] : [])]),
  ];
  /** `u` steps of k (the panels' next u rows), then the pointers moved past them. */
  const steps = (u: number): Code => {
    const out: Code = [];
    for (let q = 0; q < u; q++) {
      for (let v = 0; v < V; v++) out.push(...get(b), ...vLoad(16 * (q * V + v)), ...set(bv(v)));
      for (let r = 0; r < MR; r++) {
        out.push(...get(a), ...t.splat((q * MR + r) * t.es), ...set(s));
        for (let v = 0; v < V; v++) {
          out.push(
            ...(fused
              ? [...get(s), ...get(bv(v)), ...get(acc(r, v)), ...t.madd]
              : [...get(s), ...get(bv(v)), ...t.mul, ...get(acc(r, v)), ...t.add]),
            ...set(acc(r, v)),
          );
        }
      }
    }
    return [...out, ...inc(a, u * MR * t.es), ...inc(b, u * NR * t.es)];
  };
  const modeIs = (flag: number): Code => [...get(mode), ...i32(flag), ...I32_AND];
  return {
    name: `tile${t.es * 8}`,
    params: 7,
    result: false,
    locals: [[3, I32], [MR * V + V + 2, V128]],
    body: [
      ...[...get(a), ...get(kc), ...i32(MR * t.es), ...I32_MUL, ...I32_ADD, ...set(end)],
      ...[...get(end), ...i32((UNROLL - 1) * MR * t.es), ...I32_SUB, ...set(end2)],
      ...whileLt(a, end2, steps(UNROLL)),
      ...whileLt(a, end, steps(1)),
      ...[...modeIs(FIRST), ...I32_EQZ, ...IF],
      ...rowsOfC((
        r,
        v,
      ) => [...get(acc(r, v)), ...get(cr), ...vLoad(16 * v), ...t.add, ...set(acc(r, v))]),
      ...END,
      ...[...modeIs(LAST), ...IF, ...modeIs(BIAS), ...IF],
      ...each((
        r,
        v,
      ) => [...get(acc(r, v)), ...get(d), ...vLoad(16 * v), ...t.add, ...set(acc(r, v))]),
      ...[...END, ...modeIs(RELU), ...IF],
      ...each((r, v) => [...get(acc(r, v)), ...get(zero), ...t.pmax, ...set(acc(r, v))]),
      ...[...END, ...END],
      ...rowsOfC((r, v) => [...get(cr), ...get(acc(r, v)), ...vStore(16 * v)]),
    ],
  };
}

/**
 * `rows(A, B, C, D, k, np, panels, flags, p0, p1)`: C's rows of A panels
 * [p0, p1) from `panels` packed A panels at A, `np` packed B panels at B and
 * the padded bias at D, C's rows `np` * NR elements long; `flags` BIAS and
 * RELU. The packs are laid out by blocks of KC steps of k (block q of A
 * at element `q*KC*panels*MR`, its panel i at `i*MR*kc` in it, kc the
 * block's steps), so each block's panels lie together. Calls function
 * `tileFn` of the module.
 */
function rows(t: Lanes, tileFn: number): WasmFunction {
  const NR = V * (16 / t.es);
  const [A, B, C, D, k, np, panels, flags, p0, p1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [pc, kc, ic, icEnd, jp, ip, ldc, mode] = [10, 11, 12, 13, 14, 15, 16, 17];
  const kLeft: Code = [...get(k), ...get(pc), ...I32_SUB];
  const tileCall: Code = [
    ...[...get(A), ...get(pc), ...get(panels), ...I32_MUL, ...get(ip), ...get(kc), ...I32_MUL],
    ...I32_ADD,
    ...[...i32(MR * t.es), ...I32_MUL, ...I32_ADD],
    ...[...get(B), ...get(pc), ...get(np), ...I32_MUL, ...get(jp), ...get(kc), ...I32_MUL],
    ...I32_ADD,
    ...[...i32(NR * t.es), ...I32_MUL, ...I32_ADD],
    ...[...get(C), ...get(ip), ...i32(MR), ...I32_MUL, ...get(ldc), ...I32_MUL, ...I32_ADD],
    ...[...get(jp), ...i32(NR * t.es), ...I32_MUL, ...I32_ADD],
    ...[...get(kc), ...get(ldc), ...get(mode)],
    ...[...get(D), ...get(jp), ...i32(NR * t.es), ...I32_MUL, ...I32_ADD],
    ...call(tileFn),
  ];
  const overB: Code = [
    ...get(ic),
    ...set(ip),
    ...whileLt(ip, icEnd, [...tileCall, ...inc(ip, 1)]),
    ...inc(jp, 1),
  ];
  const overA: Code = [
    ...[...get(ic), ...i32(MCP), ...I32_ADD, ...tee(icEnd), ...get(p1)],
    ...[...get(icEnd), ...get(p1), ...I32_LT_U, ...SELECT, ...set(icEnd)],
    ...[...i32(0), ...set(jp), ...whileLt(jp, np, overB)],
    ...[...get(icEnd), ...set(ic)],
  ];
  const overK: Code = [
    ...[...kLeft, ...i32(KC), ...kLeft, ...i32(KC), ...I32_LT_U, ...SELECT, ...set(kc)],
    ...[...get(flags), ...get(pc), ...I32_EQZ, ...I32_OR],
    ...[...get(pc), ...get(kc), ...I32_ADD, ...get(k), ...I32_EQ, ...i32(1), ...I32_SHL, ...I32_OR],
    ...set(mode),
    ...[...get(p0), ...set(ic), ...whileLt(ic, p1, overA)],
    ...[...get(pc), ...get(kc), ...I32_ADD, ...set(pc)],
  ];
  return {
    name: `rows${t.es * 8}`,
    params: 10,
    result: false,
    locals: [[8, I32]],
    body: [...get(np), ...i32(NR * t.es), ...I32_MUL, ...set(ldc), ...whileLt(pc, k, overK)],
  };
}

/**
 * `pack<name>(dst, src, xs, ps, len, k)`: the `len x k` operand whose
 * element (x, p) lies at byte `src + x*xs + p*ps` copied to `dst` as panels
 * `w` wide along x, zero past `len`, by blocks of KC steps of k: in the
 * block of steps from `pc` (`kc` of them), element (x, p) of panel q at
 * element `pc*lenW + q*w*kc + (p-pc)*w + x % w` (`lenW` the padded length).
 * The bits are copied as integers; a whole panel of an operand contiguous
 * along x (`xs` = `es`), a vector at a time.
 */
function pack(name: string, es: number, w: number): WasmFunction {
  const [dst, src, xs, ps, len, k] = [0, 1, 2, 3, 4, 5];
  const [pc, kc, x0, wr, p, sp, x, sx, width] = [6, 7, 8, 9, 10, 11, 12, 13, 14];
  const [load, store, zero] = es === 4
    ? [[0x28, 2, 0], [0x36, 2, 0], i32(0)]
    : [[0x29, 3, 0], [0x37, 3, 0], [0x42, 0]];
  const min = (a: Code, b: Code): Code => [...a, ...b, ...a, ...b, ...I32_LT_U, ...SELECT];
  const element: Code = [
    ...[...get(dst), ...get(sx), ...load, ...store, ...inc(dst, es), ...inc(x, 1)],
    ...[...get(sx), ...get(xs), ...I32_ADD, ...set(sx)],
  ];
  const pad: Code = [...get(dst), ...zero, ...store, ...inc(dst, es), ...inc(x, 1)];
  const step: Code = [
    ...[...i32(0), ...set(x), ...get(sp), ...set(sx), ...whileLt(x, wr, element)],
    ...whileLt(x, width, pad),
    ...[...get(sp), ...get(ps), ...I32_ADD, ...set(sp), ...inc(p, 1)],
  ];
  // a row of a whole panel: w * es bytes as v128 moves, then an i64 and an i32 one
  const copy: Code = [];
  for (let o = 0; o < w * es;) {
    const [n, ld, st] = w * es - o >= 16
      ? [16, vLoad(o), vStore(o)]
      : w * es - o >= 8
      ? [8, [0x29, 3, ...uleb(o)], [0x37, 3, ...uleb(o)]]
      : [4, [0x28, 2, ...uleb(o)], [0x36, 2, ...uleb(o)]];
    copy.push(...get(dst), ...get(sp), ...ld, ...st);
    o += n;
  }
  const row: Code = [
    ...copy,
    ...[...inc(dst, w * es), ...get(sp), ...get(ps), ...I32_ADD, ...set(sp), ...inc(p, 1)],
  ];
  const panel: Code = [
    ...[...min([...get(len), ...get(x0), ...I32_SUB], i32(w)), ...set(wr)],
    ...[...get(src), ...get(x0), ...get(xs), ...I32_MUL, ...I32_ADD],
    ...[...get(pc), ...get(ps), ...I32_MUL, ...I32_ADD, ...set(sp), ...i32(0), ...set(p)],
    ...[...get(xs), ...i32(es), ...I32_EQ, ...get(wr), ...i32(w), ...I32_EQ, ...I32_AND],
    ...[...IF, ...whileLt(p, kc, row), ...ELSE, ...whileLt(p, kc, step), ...END],
    ...[...get(x0), ...i32(w), ...I32_ADD, ...set(x0)],
  ];
  const block: Code = [
    ...[...min([...get(k), ...get(pc), ...I32_SUB], i32(KC)), ...set(kc)],
    ...[...i32(0), ...set(x0), ...whileLt(x0, len, panel)],
    ...[...get(pc), ...get(kc), ...I32_ADD, ...set(pc)],
  ];
  return {
    name,
    params: 6,
    result: false,
    locals: [[9, I32]],
    body: [...i32(w), ...set(width), ...whileLt(pc, k, block)],
  };
}

/**
 * `compact(c, m, n, ldc)`: C's `m` rows, `ldc` bytes apart from byte `c`,
 * moved in place to `n` bytes apart (rows of a product whose columns do not
 * fill its last B panel), so that one copy takes them out.
 */
function compact(): WasmFunction {
  const [c, m, n, ldc, i, to, from] = [0, 1, 2, 3, 4, 5, 6];
  const MEMORY_COPY: Code = [0xfc, ...uleb(10), 0, 0];
  return {
    name: "compact",
    params: 4,
    result: false,
    locals: [[3, I32]],
    body: [
      ...[...get(c), ...set(to), ...get(c), ...set(from)],
      ...whileLt(i, m, [
        ...[...get(to), ...get(from), ...get(n), ...MEMORY_COPY],
        ...[...get(to), ...get(n), ...I32_ADD, ...set(to)],
        ...[...get(from), ...get(ldc), ...I32_ADD, ...set(from), ...inc(i, 1)],
      ]),
    ],
  };
}

/** Whether the engine takes `f32x4.relaxed_madd` (a module of one such function validates). */
function hasRelaxedMadd(): boolean {
  const body = [...get(0), ...get(0), ...get(0), ...F32.madd, 0x1a]; // 0x1a: drop
  return WebAssembly.validate(
    assemble(1, [{ name: "f", params: 0, result: false, locals: [[1, V128]], body }]),
  );
}

/** The module's bytes and memory, and its `rows32` / `rows64` entry points. */
interface GemmWasm {
  /** The module (importing `env.memory`), for workers to instantiate over `memory`. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Its memory: shared where SharedArrayBuffer exists. */
  memory: WebAssembly.Memory;
  /** Whether the micro-kernel multiply-adds with `relaxed_madd`. */
  fused: boolean;
  /** `rows(A, B, C, D, k, np, panels, flags, p0, p1)` in float32 (see `rows`); a plan's `args`, then panels. */
  rows32: (...args: number[]) => void;
  /** The same in float64. */
  rows64: (...args: number[]) => void;
  /** `pack(dst, src, xs, ps, len, k)` of op(A) into MR-row panels, float32 (see `pack`). */
  packA32: (...args: number[]) => void;
  /** The same of op(B) into NR-column panels. */
  packB32: (...args: number[]) => void;
  /** `packA32` in float64. */
  packA64: (...args: number[]) => void;
  /** `packB32` in float64. */
  packB64: (...args: number[]) => void;
  /** `compact(c, m, n, ldc)`: C's rows moved together (see `compact`). */
  compact: (...args: number[]) => void;
}

/**
 * The gemm module instantiated over a shared memory (where SharedArrayBuffer
 * exists and the engine gives one), else an unshared one; null without
 * WebAssembly SIMD.
 */
function instantiate(): GemmWasm | null {
  if (typeof WebAssembly !== "object") return null;
  const fused = hasRelaxedMadd();
  for (const shared of typeof SharedArrayBuffer === "function" ? [true, false] : [false]) {
    try {
      const imported: MemoryImport = { module: "env", maximum: MAX_PAGES, shared };
      const bytes = assemble(
        16,
        [
          ...[tile(F32, fused), tile(F64, fused), rows(F32, 0), rows(F64, 1)],
          ...[pack("packA32", 4, MR), pack("packB32", 4, 4 * V), pack("packA64", 8, MR)],
          ...[pack("packB64", 8, 2 * V), compact()],
        ],
        imported,
      );
      const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared });
      const module = new WebAssembly.Module(bytes);
      const e = new WebAssembly.Instance(module, { env: { memory } }).exports;
      const fn = (name: string) => e[name] as (...args: number[]) => void;
      return {
        bytes,
        memory,
        fused,
        rows32: fn("rows32"),
        rows64: fn("rows64"),
        packA32: fn("packA32"),
        packB32: fn("packB32"),
        packA64: fn("packA64"),
        packB64: fn("packB64"),
        compact: fn("compact"),
      };
    } catch {
      // no shared memory here (or no WebAssembly SIMD): try unshared, then give up
    }
  }
  return null;
}

/**
 * The gemm module where WebAssembly SIMD runs (else null): its bytes and
 * memory, so that a worker can instantiate it on the same memory and call
 * `rows32` / `rows64` with a plan's `args` and its range of panels.
 */
export const GEMM_WASM: Readonly<GemmWasm> | null = instantiate();

/**
 * A product packed into the module's memory, ready for `gemmRows`: one
 * object, refilled by each `prepareGemm` (a replay allocates nothing).
 */
export interface GemmPlan {
  /** float64 lanes (else float32). */
  f64: boolean;
  /** `rows`' arguments before the panel range: A, B, C, D, k, np, panels, flags. */
  readonly args: number[];
  /** A panels (of MR rows): `gemmRows` ranges lie in [0, panels]. */
  panels: number;
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
}

const PLAN: GemmPlan = { f64: false, args: [0, 0, 0, 0, 0, 0, 0, 0], panels: 0, m: 0, n: 0 };

/**
 * Views of parts of arrays that products read or write, the last
 * PARTS_KEPT kept per array (a JIT replay reads the same parts of the same
 * arrays each time, so it makes none).
 */
const PARTS = new WeakMap<TypedArray, TypedArray[]>(), PARTS_KEPT = 16;

/** `src[off, off + len)` (`src` itself when that is all of it). */
function part(src: TypedArray, off: number, len: number): TypedArray {
  if (off === 0 && len === src.length) return src;
  let views = PARTS.get(src);
  if (views === undefined) PARTS.set(src, views = []);
  const at = src.byteOffset + off * src.BYTES_PER_ELEMENT;
  for (let i = 0; i < views.length; i++) {
    if (views[i].byteOffset === at && views[i].length === len) return views[i];
  }
  const v = src.subarray(off, off + len);
  if (views.push(v) > PARTS_KEPT) views.shift();
  return v;
}

let f32View: Float32Array<ArrayBufferLike> = new Float32Array(0);
let f64View: Float64Array<ArrayBufferLike> = new Float64Array(0);

/**
 * The module's memory at least `bytes` long, and the views over it current;
 * false if it cannot be (past MAX_PAGES, or the engine refuses to grow it:
 * out of memory).
 */
function reserve(bytes: number): boolean {
  const memory = GEMM_WASM!.memory;
  const have = memory.buffer.byteLength;
  if (have < bytes) {
    const pages = Math.ceil((bytes - have) / 65536);
    if (have / 65536 + pages > MAX_PAGES) return false;
    try {
      memory.grow(pages);
    } catch {
      return false; // the scalar gemm computes it in the operands' own memory
    }
  }
  if (f32View.buffer !== memory.buffer) {
    f32View = new Float32Array(memory.buffer);
    f64View = new Float64Array(memory.buffer);
  }
  return true;
}

/** `x` elements rounded up to a multiple of 16 (a 64-byte line of float32). */
const line = (x: number) => Math.ceil(x / 16) * 16;

/** A packed B operand kept for later products of one replay (see `gemmEpoch`). */
interface Kept {
  epoch: number;
  /** Its byte address. */
  at: number;
  f64: boolean;
  k: number;
  n: number;
}

/** The current replay's number: packs kept in an earlier one are stale. */
let epoch = 0;
/** Bytes at the memory's start that this replay's kept packs take (products work above). */
let pinned = 0;
/** Kept packs by the index a tape's products name them with. */
const kept: Kept[] = [];

/**
 * Starts or ends a tape's replay: the B operands its products keep packed
 * (`gemm(..., keep)`) are packed afresh. A replay run inside another (by a
 * host step) ends with one, even when it throws, so that the outer one
 * packs its operands again rather than read the inner one's packs under the
 * same indices.
 */
export function gemmEpoch(): void {
  epoch++;
  pinned = 0;
}

/**
 * Packs `op(A)` [m, k], `op(B)` [k, n] and the bias into the module's
 * memory for an f64 (else f32) product; null where the module is missing
 * or the memory cannot hold them. With `keep` >= 0, op(B) stays packed
 * until the next `gemmEpoch`, and a later product of this replay that
 * names the same `keep` (the same operand: the caller's promise) reads that
 * pack instead of packing B again.
 */
export function prepareGemm(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  aOff: number,
  transA: boolean,
  B: TypedArray,
  bOff: number,
  transB: boolean,
  bias: TypedArray | null,
  relu: boolean,
  f64: boolean,
  keep = -1,
): GemmPlan | null {
  if (GEMM_WASM === null) return null;
  const es = f64 ? 8 : 4, NR = V * (16 / es);
  const panels = Math.ceil(m / MR), np = Math.ceil(n / NR);
  const old = keep >= 0 ? kept[keep] : undefined;
  const reuse = old !== undefined && old.epoch === epoch && old.f64 === f64 && old.k === k &&
    old.n === n;
  // each region from a 64-byte line (a B panel's vectors never straddle one), above the kept packs
  const bAt = pinned / es, aAt = reuse ? bAt : line(bAt + np * NR * k);
  const cAt = line(aAt + panels * MR * k), dAt = line(cAt + panels * MR * np * NR);
  const rawA = line(dAt + np * NR), rawB = line(rawA + m * k), end = rawB + (reuse ? 0 : k * n);
  if (end * es > 2 ** 31 || !reserve(end * es)) return null;
  const view = f64 ? f64View : f32View, w = GEMM_WASM;
  view.set(part(A, aOff, m * k), rawA);
  const packA = f64 ? w.packA64 : w.packA32, packB = f64 ? w.packB64 : w.packB32;
  packA(aAt * es, rawA * es, (transA ? 1 : k) * es, (transA ? m : 1) * es, m, k);
  if (!reuse) {
    view.set(part(B, bOff, k * n), rawB);
    packB(bAt * es, rawB * es, (transB ? k : 1) * es, (transB ? 1 : n) * es, n, k);
    if (keep >= 0) {
      kept[keep] = { epoch, at: bAt * es, f64, k, n };
      pinned = aAt * es;
    }
  }
  if (bias !== null) {
    const step = bias.length > 1 ? 1 : 0;
    for (let j = 0; j < np * NR; j++) view[dAt + j] = j < n ? bias[j * step] : 0;
  }
  const a = PLAN.args;
  a[0] = aAt * es, a[1] = reuse ? old.at : bAt * es, a[2] = cAt * es, a[3] = dAt * es;
  a[4] = k, a[5] = np, a[6] = panels;
  a[7] = (bias !== null ? BIAS : 0) | (relu ? RELU : 0);
  PLAN.f64 = f64, PLAN.panels = panels, PLAN.m = m, PLAN.n = n;
  return PLAN;
}

/** Computes C's rows of A panels [p0, p1) of a prepared product (any split gives the same bits). */
export function gemmRows(plan: GemmPlan, p0: number, p1: number): void {
  const w = GEMM_WASM!, a = plan.args;
  (plan.f64 ? w.rows64 : w.rows32)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], p0, p1);
}

/** Copies a computed product out of the module's memory into `C` from `cOff`. */
export function finishGemm(plan: GemmPlan, C: TypedArray, cOff: number): void {
  const { m, n } = plan, es = plan.f64 ? 8 : 4;
  const view = plan.f64 ? f64View : f32View, ldc = plan.args[5] * V * (16 / es);
  if (ldc !== n) GEMM_WASM!.compact(plan.args[2], m, n * es, ldc * es);
  part(C, cOff, m * n).set(part(view, plan.args[2] / es, m * n));
}

/**
 * `C[m, n] = op(A) @ op(B) (+ bias) (then ReLU)` (the Backend's `gemm`):
 * float32 C from float32 operands and bias, or float64 C, through the
 * WebAssembly SIMD kernels (float32 sums in float32); small products
 * (`isSmallGemm`), int32 and other mixes, and all products without
 * WebAssembly SIMD, through the scalar JS gemm (float64 sums). `keep` >= 0
 * keeps op(B) packed for this replay's later products naming it (see
 * `prepareGemm`).
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  aOff: number,
  transA: boolean,
  B: TypedArray,
  bOff: number,
  transB: boolean,
  C: TypedArray,
  cOff: number,
  bias: TypedArray | null = null,
  relu = false,
  keep = -1,
): void {
  const f64 = C instanceof Float64Array;
  const f32 = C instanceof Float32Array && A instanceof Float32Array &&
    B instanceof Float32Array && (bias === null || bias instanceof Float32Array);
  const plan = (f64 || f32) && k > 0 && !isSmallGemm(m, n, k)
    ? prepareGemm(m, n, k, A, aOff, transA, B, bOff, transB, bias, relu, f64, keep)
    : null;
  if (plan === null) {
    scalarGemm(m, n, k, A, aOff, transA, B, bOff, transB, C, cOff, bias, relu);
    return;
  }
  splitRows(plan, m * n * k);
  finishGemm(plan, C, cOff);
}

/**
 * Multiply-adds (m n k) from which a product's rows are split over the
 * pool's threads: on the idle 2-core machine two threads were 10-25% slower
 * up to n = 128 (a job costs the workers' wake-up, ~30 us), even at
 * n = 160, and faster from n = 192 (1.25x) on (1.35-1.9x at 512-1024).
 */
const SPLIT_WORK = 1 << 22;
/** Ranges of A panels per thread a split product is cut into (the threads take them as they come). */
const RANGES_PER_THREAD = 4;
/** The gemm module in the pool, registered on the first split. */
let pooled: PoolModule | null = null;

/**
 * Computes all of a prepared product's rows: a large product's A panels in
 * ranges the pool's threads take as they come (the bits of one call: see
 * the module's comment), a small one on the calling thread.
 */
function splitRows(plan: GemmPlan, work: number): void {
  const w = GEMM_WASM!;
  const threads = work >= SPLIT_WORK && w.memory.buffer instanceof SharedArrayBuffer
    ? parallelism()
    : 1;
  if (threads === 1) return gemmRows(plan, 0, plan.panels);
  pooled ??= registerModule(new WebAssembly.Module(w.bytes), w.memory);
  const grain = Math.ceil(plan.panels / (threads * RANGES_PER_THREAD));
  runRanges(pooled, plan.f64 ? "rows64" : "rows32", plan.args, plan.panels, grain);
}
