/**
 * Test helpers: numpy's allclose rule (|a - b| <= atol + rtol * |b|) over
 * numbers, nested arrays, NDArrays and Variables, with a readable failure.
 * @module
 */
import { NDArray } from "../core/array/ndarray.ts";
import { Variable } from "../core/autograd/variable.ts";

type Values = number | number[] | NDArray | Variable | ArrayLike<number> | unknown[];

function flatten(x: Values): { values: number[]; shape: number[] | null } {
  if (x instanceof Variable) x = x.data;
  if (x instanceof NDArray) return { values: Array.from(x.data), shape: x.shape };
  if (typeof x === "number") return { values: [x], shape: null };
  const out: number[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      for (const e of Array.from(v as ArrayLike<unknown>)) walk(e);
    } else out.push(v as number);
  };
  walk(x);
  return { values: out, shape: null };
}

/** Throws unless `actual` and `expected` agree elementwise within tolerance. */
export function assertAllClose(
  actual: Values,
  expected: Values,
  { rtol = 1e-7, atol = 0, msg = "" }: { rtol?: number; atol?: number; msg?: string } = {},
): void {
  const a = flatten(actual), e = flatten(expected);
  if (a.shape && e.shape && a.shape.join(",") !== e.shape.join(",")) {
    throw new Error(`${msg} shape [${a.shape}] != expected [${e.shape}]`);
  }
  if (a.values.length !== e.values.length) {
    throw new Error(`${msg} size ${a.values.length} != expected ${e.values.length}`);
  }
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i], y = e.values[i];
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      throw new Error(
        `${msg} element ${i}: ${x} != ${y} (rtol ${rtol}, atol ${atol})\nactual:   ${
          a.values.slice(0, 8)
        }\nexpected: ${e.values.slice(0, 8)}`,
      );
    }
  }
}

/** Tolerances for numeric-gradient checks, by dtype. */
export const GRAD_TOL = {
  float64: { rtol: 1e-6, atol: 1e-8 },
  float32: { rtol: 1e-3, atol: 1e-4 },
} as const;
