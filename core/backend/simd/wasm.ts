/**
 * A small WebAssembly assembler: the binary encoding of the few instructions
 * the vector kernels of core/backend/simd/vecmath.ts and the JIT's WebAssembly loops use,
 * of a module of functions over one memory, and `simdLoop`, a builder of
 * unrolled f64x2 (or, over the same float64 memory, f32x4) loops. Code is a
 * plain array of bytes; every helper returns one, so kernels are written as
 * concatenations.
 * @module
 */

/** Instruction bytes. */
export type Code = number[];

/** Unsigned LEB128. */
export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128 (32-bit). */
function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** A length-prefixed vector of bytes. */
function vec(bytes: Code): Code {
  return [...uleb(bytes.length), ...bytes];
}

/** A UTF-8 name (ASCII here). */
function name(s: string): Code {
  return vec([...s].map((c) => c.charCodeAt(0)));
}

/** Value types. */
export const I32 = 0x7f, V128 = 0x7b;

/** `local.get` of local `i`. */
export const get = (i: number): Code => [0x20, ...uleb(i)];
/** `local.set` of local `i`. */
export const set = (i: number): Code => [0x21, ...uleb(i)];
/** `local.tee` of local `i`. */
export const tee = (i: number): Code => [0x22, ...uleb(i)];
/** `i32.const n`. */
export const i32 = (n: number): Code => [0x41, ...sleb(n)];
/** `i32.shl`. */
export const I32_SHL: Code = [0x74];
/** `i32.add`. */
export const I32_ADD: Code = [0x6a];
/** `i32.sub`. */
export const I32_SUB: Code = [0x6b];
/** `i32.ge_u`. */
const I32_GE_U: Code = [0x4f];

/** A SIMD instruction (0xfd prefix) with its immediates. */
export const simd = (op: number, ...imm: number[]): Code => [0xfd, ...uleb(op), ...imm];
/** `v128.load` at the address on the stack plus `offset`. */
export const vLoad = (offset: number): Code => simd(0x00, 4, ...uleb(offset));
/** `v128.store` at the address under the value plus `offset`. */
export const vStore = (offset: number): Code => simd(0x0b, 4, ...uleb(offset));
/** `v128.const` of two f64 lanes both `x`. */
function f64x2(x: number): Code {
  const b = [...new Uint8Array(new Float64Array([x, x]).buffer)];
  return simd(0x0c, ...b);
}
/** `v128.const` of four f32 lanes all `fround(x)`. */
function f32x4(x: number): Code {
  return simd(0x0c, ...new Uint8Array(new Float32Array([x, x, x, x]).buffer));
}
/** `v128.const` of four i32 lanes all `n`. */
function i32x4(n: number): Code {
  return simd(0x0c, ...new Uint8Array(new Int32Array([n, n, n, n]).buffer));
}
/** f64x2 lane operations. */
export const F64X2 = {
  lt: simd(0x49),
  abs: simd(0xec),
  add: simd(0xf0),
  sub: simd(0xf1),
  mul: simd(0xf2),
  div: simd(0xf3),
  neg: simd(0xed),
  sqrt: simd(0xef),
  /** `a < b ? b : a` (a NaN `a` stays) */
  pmax: simd(0xf7),
  /** rounds each lane to float32 and back (`Math.fround`) */
  fround: [...simd(0x5e), ...simd(0x5f)],
};
/** f32x4 lane operations (IEEE single precision, no fused multiply-add). */
export const F32X4 = {
  eq: simd(0x41),
  lt: simd(0x43),
  ge: simd(0x46),
  abs: simd(0xe0),
  neg: simd(0xe1),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  /** `b < a ? b : a` (a NaN `a` stays) */
  pmin: simd(0xea),
  /** `a < b ? b : a` (a NaN `a` stays) */
  pmax: simd(0xeb),
  /** i32 lanes to f32 */
  fromI32: simd(0xfa),
  /** the two f64 lanes rounded to f32 lanes 0 and 1 (lanes 2 and 3 zero) */
  demote: simd(0x5e),
  /** f32 lanes 0 and 1 to two f64 lanes */
  promoteLow: simd(0x5f),
  /** lanes 0, 1 of the first operand and 0, 1 of the second (two demoted f64x2) */
  joinLow: simd(0x0d, ...[0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]),
  /** lanes 2 and 3 moved to lanes 0 and 1 (a shuffle of the vector with itself) */
  highToLow: simd(0x0d, ...[8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]),
};
/** i32x4 / i64x2 / v128 operations. */
export const I32X4 = {
  eq: simd(0x37),
  and: simd(0x4e),
  or: simd(0x50),
  xor: simd(0x51),
  bitselect: simd(0x52),
  add: simd(0xae),
  sub: simd(0xb1),
  /** each lane shifted left by the i32 on the stack */
  shl: simd(0xab),
  /** each lane shifted right (arithmetic) by the i32 on the stack */
  shrS: simd(0xac),
  /** 1 when both i64 lanes are non-zero */
  allTrue64: simd(0xc3),
  /** 1 when all four i32 lanes are non-zero */
  allTrue32: simd(0xa3),
};

/** `block ... loop ...` head: `br 1` leaves, `br 0` repeats. */
const LOOP: Code = [0x02, 0x40, 0x03, 0x40];
/** `br_if 1` (leave the loop), `br 0` then both `end`s. */
const BREAK_IF: Code = [0x0d, 1], LOOP_END: Code = [0x0c, 0, 0x0b, 0x0b];
/** `while (x < limit) { body }` over i32 locals `x` and `limit` (unsigned). */
export const whileLt = (x: number, limit: number, body: Code): Code => [
  ...LOOP,
  ...get(x),
  ...get(limit),
  ...I32_GE_U,
  ...BREAK_IF,
  ...body,
  ...LOOP_END,
];

/** One exported function. */
export interface WasmFunction {
  /** Export name. */
  name: string;
  /** Number of i32 parameters. */
  params: number;
  /** Whether it returns one i32. */
  result: boolean;
  /** Extra locals, as [count, type] runs (after the parameters). */
  locals: [number, number][];
  /** Its code (without the final `end`). */
  body: Code;
}

/** A memory a module imports as `module.memory`, of at most `maximum` pages, shared or not. */
export interface MemoryImport {
  /** The import's module name. */
  module: string;
  /** Its maximum in pages. */
  maximum: number;
  /** Whether it is a shared memory (one a worker can use too). */
  shared: boolean;
}

/**
 * A module of `functions` over one memory of `pages` (64 KiB each):
 * defined and exported as `memory`, or (`imported`) imported as `m.memory`
 * (or as a `MemoryImport` says).
 */
export function assemble(
  pages: number,
  functions: WasmFunction[],
  imported: boolean | MemoryImport = false,
): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: Code) => [id, ...vec(bytes)];
  const count = uleb(functions.length);
  const types = functions.flatMap((f) => [
    0x60,
    ...uleb(f.params),
    ...Array(f.params).fill(I32),
    ...(f.result ? [1, I32] : [0]),
  ]);
  const exports = functions.flatMap((f, k) => [...name(f.name), 0, ...uleb(k)]);
  const bodies = functions.flatMap((f) =>
    vec([
      ...uleb(f.locals.length),
      ...f.locals.flatMap(([n, t]) => [...uleb(n), t]),
      ...f.body,
      0x0b,
    ])
  );
  const from = typeof imported === "object" ? imported.module : "m";
  const limits = typeof imported === "object"
    ? [imported.shared ? 3 : 1, ...uleb(pages), ...uleb(imported.maximum)]
    : [0, ...uleb(pages)];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [...count, ...types]),
    ...(imported ? section(2, [1, ...name(from), ...name("memory"), 2, ...limits]) : []),
    ...section(3, [...count, ...functions.flatMap((_, k) => uleb(k))]),
    ...(imported ? [] : section(5, [1, ...limits])),
    ...section(7, [
      ...uleb(functions.length + (imported ? 0 : 1)),
      ...(imported ? [] : [...name("memory"), 2, 0]),
      ...exports,
    ]),
    ...section(10, [...count, ...bodies]),
  ]);
}

/** Pages (64 KiB) of the memory the vector kernels and WebAssembly loops share. */
export const VEC_PAGES = 32;
/** That memory's length in float64 elements (`VEC.length`). */
export const VEC_LENGTH: number = VEC_PAGES * 65536 / 8;

/** Vectors per loop iteration: independent chains in flight. */
const U = 4;
/** Elements (f64 lanes) per iteration of a `simdLoop`. */
export const SIMD_STEP = 2 * U;
/** Elements (f32 lanes) per iteration of an f32x4 `simdLoop`. */
export const SIMD_STEP32 = 4 * U;

/** Code that leaves unrolled copy `k` of a vector value on the stack. */
export type Vec = (k: number) => Code;

/** A vector operation of two operands. */
export const op2 = (code: Code) => (a: Vec, b: Vec): Vec => (k) => [...a(k), ...b(k), ...code];
/** A vector operation of one operand. */
export const op1 = (code: Code) => (a: Vec): Vec => (k) => [...a(k), ...code];

/** What a loop's statements are written with. */
export interface LoopBuilder {
  /** The vector at pointer parameter `ptr` plus `offset` bytes (f64x2, or 4 elements as f32x4). */
  load: (ptr: number, offset: number) => Vec;
  /** Stores `e` at pointer parameter `ptr` plus `offset` bytes (f32x4: as 4 f64 elements). */
  store: (ptr: number, offset: number, e: Vec) => void;
  /** An f64x2 (f32x4: f32x4) constant, hoisted into a local before the loop. */
  c: (x: number) => Vec;
  /** An i32x4 constant (hoisted). */
  ci: (n: number) => Vec;
  /** Computes `e` into fresh locals (one per unrolled copy). */
  let: (e: Vec) => Vec;
  /** Clears the returned flag unless every lane of mask `e` is set. */
  check: (e: Vec) => void;
}

/**
 * A function `(p0, ..., p{ptrs-1}, n)` looping over `n` f64 elements (a
 * multiple of SIMD_STEP) at the byte addresses `p0...`, each advanced by
 * SIMD_STEP elements per iteration; `emit` writes the iteration's
 * statements, whose `U` unrolled copies of f64x2 run side by side
 * (independent chains keep the pipeline full). With `f32` the copies are
 * f32x4, each loading four f64 elements demoted to float32 and storing its
 * lanes promoted back (SIMD_STEP32 elements per iteration, `n` a multiple
 * of it). Returns 1 unless a `check` failed.
 * Constants live in locals set before the loop: V8 materializes a
 * `v128.const` with several instructions where it appears (measured 2x
 * slower kernels).
 */
export function simdLoop(
  name: string,
  ptrs: number,
  emit: (b: LoopBuilder) => void,
  f32 = false,
): WasmFunction {
  const n = ptrs, end = n + 1, ok = n + 2, tmp = n + 3; // ok: the lanes every check passed
  let next = n + 4;
  const body: Code = [], prologue: Code = [];
  const constants = new Map<string, number>();
  const each = (f: (k: number) => Code) => {
    for (let k = 0; k < U; k++) body.push(...f(k));
  };
  const bind = (e: Vec): Vec => {
    const base = next;
    next += U;
    each((k) => [...e(k), ...set(base + k)]);
    return (k) => get(base + k);
  };
  const constant = (code: Code): Vec => {
    const key = code.join();
    if (!constants.has(key)) {
      constants.set(key, next);
      prologue.push(...code, ...set(next++));
    }
    const local = constants.get(key)!;
    return () => get(local);
  };
  const half = (ptr: number, at: number) => [...get(ptr), ...vLoad(at), ...F32X4.demote];
  emit({
    load: (ptr, offset) =>
      f32
        ? (
          k,
        ) => [...half(ptr, offset + 32 * k), ...half(ptr, offset + 32 * k + 16), ...F32X4.joinLow]
        : (k) => [...get(ptr), ...vLoad(offset + 16 * k)],
    store: (ptr, offset, e) =>
      each((k) =>
        f32
          ? [
            ...[...get(ptr), ...e(k), ...tee(tmp), ...F32X4.promoteLow, ...vStore(offset + 32 * k)],
            ...[...get(ptr), ...get(tmp), ...get(tmp), ...F32X4.highToLow, ...F32X4.promoteLow],
            ...vStore(offset + 32 * k + 16),
          ]
          : [...get(ptr), ...e(k), ...vStore(offset + 16 * k)]
      ),
    c: (x) => constant(f32 ? f32x4(x) : f64x2(x)),
    ci: (x) => constant(i32x4(x)),
    let: bind,
    check: (e) => each((k) => [...get(ok), ...e(k), ...I32X4.and, ...set(ok)]),
  });
  for (let p = 0; p < ptrs; p++) {
    body.push(...get(p), ...i32((f32 ? 32 : 16) * U), ...I32_ADD, ...set(p));
  }
  return {
    name,
    params: n + 1,
    result: true,
    locals: [[1, I32], [next - n - 2, V128]],
    body: [
      ...[...get(0), ...get(n), ...i32(3), ...I32_SHL, ...I32_ADD, ...set(end)],
      ...[...i32x4(-1), ...set(ok), ...prologue],
      ...whileLt(0, end, body),
      ...[...get(ok), ...(f32 ? I32X4.allTrue32 : I32X4.allTrue64)],
    ],
  };
}
