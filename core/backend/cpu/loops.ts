/**
 * Eager kernels generated from the op registry (core/registry.ts).
 *
 * Each (op, dtypes, layout, rank) gets one loop compiled once with
 * `new Function` and cached, so the hot loop is monomorphic, works on typed
 * arrays and allocates nothing per element. Layouts: contiguous operands of
 * the output's size, a size-1 operand hoisted out of the loop, or a general
 * strided walk (broadcasting = stride 0) over axes merged where possible.
 * A float32 output uses the op's `expr32` when it has one: the fast-math
 * functions of core/backend/simd/fastmath.ts, bound as closure constants of every loop.
 * @module
 */
import type { DType, TypedArray } from "../../array/dtype.ts";
import { MATH_SCOPE, VEC_BASE, VECTORIZED } from "../simd/vecmath.ts";
import { type ElementwiseSpec, exprFor, type ReductionSpec } from "../../registry.ts";
import type { Shape } from "../../array/shape_rules.ts";

/** Compiled elementwise loop: `(O, A, B, p0, p1, n, shape, sa, sb)`. */
type ElementwiseFn = (
  o: TypedArray,
  a: TypedArray,
  b: TypedArray | null,
  p0: number,
  p1: number,
  n: number,
  shape: number[],
  sa: number[],
  sb: number[],
) => void;

/** Compiled reduction loop: `(ACC, A, shape, sa, so)`. */
type ReductionFn = (
  acc: TypedArray,
  a: TypedArray,
  shape: number[],
  sa: number[],
  so: number[],
) => void;

/** Compiled loops by op name, then by a numeric code of dtypes and layout. */
export type LoopCache = Map<string, Map<number, unknown>>;
const ewCache: LoopCache = new Map();
const redCache: LoopCache = new Map();
const SCOPE_NAMES = Object.keys(MATH_SCOPE);
const SCOPE_VALUES = Object.values(MATH_SCOPE);

/**
 * The cached loop of `name` and `code`, generated from `body()` on the first
 * request: `function (params) { body }` inside a factory whose parameters
 * are the `MATH_SCOPE` names, so the loop calls them as constants V8 inlines.
 * Keys are an interned name and a number because building a string key per
 * call cost more than a whole small op.
 */
export function cachedLoop<T>(
  cache: LoopCache,
  name: string,
  code: number,
  params: string[],
  body: () => string,
): T {
  let byCode = cache.get(name);
  if (!byCode) cache.set(name, byCode = new Map());
  let fn = byCode.get(code);
  if (!fn) {
    // the comment makes each loop's source unique: V8 shares type feedback
    // between functions compiled from identical source, which would make a
    // float32 and a float64 loop of one op polymorphic (measured 2-3x slower)
    fn = new Function(
      ...SCOPE_NAMES,
      `return function (${params.join(", ")}) {\n// ${name} ${code}\n${body()}\n};`,
    )(...SCOPE_VALUES);
    byCode.set(code, fn);
  }
  return fn as T;
}

/**
 * Merges adjacent axes that every operand walks contiguously, so a
 * broadcast over [n, m, k] with plain strides becomes a shorter loop nest.
 */
export function mergeAxes(
  shape: Shape,
  strides: number[][],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue; // a length-1 axis contributes nothing
    const last = outShape.length - 1;
    if (
      last >= 0 &&
      strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])
    ) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Nested loops over `rank` axes, each operand `X` advancing by `sX<d>`. */
function loopNest(rank: number, operands: string[], inner: string): string {
  let head = "";
  for (let d = 0; d < rank; d++) {
    const init = operands.map((x) => `j${x}${d} = ${d === 0 ? "0" : `j${x}${d - 1}`}`);
    const step = operands.map((x) => `j${x}${d} += s${x}${d}`);
    head += `for (let i${d} = 0, ${init.join(", ")}; i${d} < n${d}; i${d}++, ${
      step.join(", ")
    }) {\n`;
  }
  return head + inner + "\n" + "}".repeat(rank);
}

/** Reads of shape and strides into locals `n<d>`, `s<X><d>`. */
function unpack(rank: number, operands: [string, string][]): string {
  let s = "";
  for (let d = 0; d < rank; d++) {
    s += `const n${d} = shape[${d}]; `;
    for (const [x, arr] of operands) s += `const s${x}${d} = ${arr}[${d}]; `;
  }
  return s + "\n";
}

/**
 * Runs an elementwise op into `out` (contiguous, `outShape`), reading `a`
 * (and `b`) through broadcast strides; `null` strides mean the operand is
 * plain (of the output's size, or a single element).
 */
export function runElementwise(
  spec: ElementwiseSpec,
  out: TypedArray,
  outShape: Shape,
  outDtype: DType,
  a: TypedArray,
  aStrides: number[] | null,
  b: TypedArray | null,
  bStrides: number[] | null,
  p0: number,
  p1: number,
): void {
  const n = out.length;
  const binary = spec.arity === 2 && b !== null;
  const types = dtypesCode(outDtype, a, b);
  const expr = exprFor(spec, outDtype);
  // contiguous / hoisted-scalar fast paths
  const aFull = a.length === n && (aStrides === null || isPlain(aStrides, outShape));
  const bFull = binary && b!.length === n && (bStrides === null || isPlain(bStrides, outShape));
  const aOne = a.length === 1;
  const bOne = binary && b!.length === 1;
  if ((aFull || aOne) && (!binary || bFull || bOne)) {
    const vector = outDtype === "float32" && spec.vec32 !== undefined && !aOne && n >= 64 &&
      VECTORIZED;
    const layout = vector
      ? Layout.Vector
      : (aOne ? Layout.AScalar : 0) + (binary ? (bOne ? Layout.BScalar : Layout.BFull) : 0);
    const fn = cachedLoop<ElementwiseFn>(
      ewCache,
      spec.name,
      loopKey(types, layout),
      ["O", "A", "B", "p0", "p1", "n"],
      () => {
        if (vector) return vectorLoop(spec.vec32!);
        const pre = (aOne ? read("a", "0") : "") + (binary && bOne ? read("b", "0") : "");
        const inner = (aOne ? "" : read("a", "i")) + (binary && !bOne ? read("b", "i") : "");
        return `"use strict"; ${pre}\nfor (let i = 0; i < n; i++) { ${inner} O[i] = ${expr}; }`;
      },
    );
    fn(out, a, b, p0, p1, n, [], [], []);
    return;
  }
  const strides = binary ? [aStrides!, bStrides!] : [aStrides!];
  const m = mergeAxes(outShape, strides);
  const rank = m.shape.length;
  const ops = binary ? ["a", "b"] : ["a"];
  const fn = cachedLoop<ElementwiseFn>(
    ewCache,
    spec.name,
    loopKey(types, Layout.Strided + rank),
    ["O", "A", "B", "p0", "p1", "n", "shape", "sa", "sb"],
    () => {
      const inner = ops.map((x) => read(x, `j${x}${rank - 1}`)).join(" ") +
        ` O[o++] = ${expr};`;
      return `"use strict"; ${unpack(rank, ops.map((x) => [x, `s${x}`]))}let o = 0;\n` +
        loopNest(rank, ops, inner);
    },
  );
  fn(out, a, b, p0, p1, n, m.shape, m.strides[0], m.strides[1] ?? []);
}

/** Elements per chunk of a vector loop (two chunks of `VEC` stay in L1/L2). */
const CHUNK = 2048;

/**
 * Source of a unary op over a contiguous array by its vector function
 * (core/backend/simd/vecmath.ts): chunks copied into `VEC`, computed there, copied out.
 */
function vectorLoop(fn: string): string {
  const x = VEC_BASE, y = VEC_BASE + CHUNK;
  return `"use strict";
for (let b = 0; b < n; b += ${CHUNK}) {
  const m = n - b < ${CHUNK} ? n - b : ${CHUNK};
  for (let j = 0; j < m; j++) VEC[${x} + j] = A[b + j];
  ${fn}(${x}, ${y}, m);
  for (let j = 0; j < m; j++) O[b + j] = VEC[${y} + j];
}`;
}

/** Source of `const a = A[idx];`. */
function read(x: string, idx: string): string {
  return `const ${x} = ${x.toUpperCase()}[${idx}];`;
}

/** A code of a typed array's element type (0, 1, 2), for loop cache keys. */
export function typeCode(x: TypedArray): number {
  return x instanceof Float32Array ? 0 : x instanceof Float64Array ? 1 : 2;
}

/** The element types of an elementwise loop's output and operands as one number (< 36). */
function dtypesCode(out: DType, a: TypedArray, b: TypedArray | null): number {
  const o = out === "float32" ? 0 : out === "float64" ? 1 : 2;
  return (o * 3 + typeCode(a)) * 4 + (b === null ? 3 : typeCode(b));
}

/**
 * How an elementwise loop walks its operands: flat layouts add up the
 * scalar flags (`a` hoisted, `b` hoisted or full), a vector call is its own
 * layout, and a strided walk over merged axes adds its rank to `Strided`.
 */
const Layout = {
  AScalar: 1,
  BScalar: 2,
  BFull: 4,
  Vector: 6,
  Strided: 8,
} as const;

/** The cache key of an elementwise loop: its dtypes code and its layout (< 64). */
function loopKey(types: number, layout: number): number {
  return types * 64 + layout;
}

function isPlain(strides: number[], shape: Shape): boolean {
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

/**
 * Reduces contiguous `a` of `shape` into `acc` (pre-filled with the identity),
 * where `outStrides` is 0 on every reduced axis.
 */
export function runReduction(
  spec: ReductionSpec,
  acc: TypedArray,
  a: TypedArray,
  shape: Shape,
  aStrides: number[],
  outStrides: number[],
): void {
  const m = mergeAxes(shape, [aStrides, outStrides]);
  const rank = m.shape.length;
  if (rank === 0) {
    if (a.length) acc[0] = combineOnce(spec, acc[0], a[0]);
    return;
  }
  const innerReduced = m.strides[1][rank - 1] === 0;
  // key: accumulator and input types, merged rank, and whether the inner axis is reduced
  const code = ((typeCode(acc) * 3 + typeCode(a)) * 64 + rank) * 2 + (innerReduced ? 1 : 0);
  const fn = cachedLoop<ReductionFn>(
    redCache,
    spec.name,
    code,
    ["ACC", "A", "shape", "sa", "so"],
    () => {
      const c = spec.combine;
      let body: string;
      if (innerReduced) {
        // local accumulator over the innermost (reduced) axis
        const outer = rank - 1;
        const head = outer > 0 ? loopNest(outer, ["a", "o"], "%") : "%";
        const init = outer > 0 ? `ja${outer - 1}` : "0";
        const oi = outer > 0 ? `jo${outer - 1}` : "0";
        const inner =
          `let acc = ACC[${oi}]; for (let i = 0, k = ${init}; i < n${outer}; i++, k += sa${outer}) { const a = A[k]; acc = ${c}; } ACC[${oi}] = acc;`;
        body = head.replace("%", inner);
      } else {
        const j = `jo${rank - 1}`;
        body = loopNest(
          rank,
          ["a", "o"],
          `const a = A[ja${rank - 1}]; const acc = ACC[${j}]; ACC[${j}] = ${c};`,
        );
      }
      return `"use strict"; ${unpack(rank, [["a", "sa"], ["o", "so"]])}${body}`;
    },
  );
  fn(acc, a, m.shape, m.strides[0], m.strides[1]);
}

function combineOnce(spec: ReductionSpec, acc: number, a: number): number {
  return cachedLoop<(acc: number, a: number) => number>(
    redCache,
    spec.name,
    -1,
    ["acc", "a"],
    () => `return ${spec.combine};`,
  )(acc, a);
}
