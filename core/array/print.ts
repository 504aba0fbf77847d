/**
 * numpy-style printing of arrays (`str(ndarray)`), used by NDArray and, with
 * DeZero's `variable(...)` prefix, by Variable.
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";
import { type Shape, sizeOf, stridesOf } from "./shape_rules.ts";

// numpy 2's default print options.
const PRECISION = 8;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 75;

/** A non-negative decimal 0.DIGITS × 10^point; `digits` has no trailing zeros ("0" for zero). */
interface Decimal {
  digits: string;
  point: number;
}

/** [mantissa, exponent, high margin twice the low one] with x = mantissa * 2^exponent. */
function decompose(x: number, f32: boolean): [bigint, number, boolean] {
  const view = new DataView(new ArrayBuffer(8));
  if (f32) {
    view.setFloat32(0, x);
    const bits = view.getUint32(0);
    const [biased, frac] = [bits >>> 23, bits & 0x7fffff];
    return [
      BigInt(biased ? frac | 0x800000 : frac),
      Math.max(biased, 1) - 150,
      biased > 1 && !frac,
    ];
  }
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const [biased, frac] = [Number(bits >> 52n), bits & 0xfffffffffffffn];
  return [biased ? frac | 1n << 52n : frac, Math.max(biased, 1) - 1075, biased > 1 && !frac];
}

/**
 * numpy's Dragon4 in 'unique' mode: the shortest digits of `x` (>= 0, finite,
 * read as float32 when `f32`) that identify it, cut off after `max` digits and
 * extended to at least `min` (-1: no limit), counted from the first digit
 * (`total`) or from the decimal point.
 */
function dragon4(x: number, f32: boolean, total: boolean, max: number, min: number): Decimal {
  if (x === 0) return { digits: "0", point: 1 };
  const [mantissa, exp2, unequal] = decompose(x, f32);
  const even = mantissa % 2n === 0n;
  // value, low margin (half the gap below) and scale, all as integers: value = v / s
  let v = mantissa << 2n;
  let margin = unequal ? 1n : 2n;
  let s = 1n;
  if (exp2 >= 2) [v, margin] = [v << BigInt(exp2 - 2), margin << BigInt(exp2 - 2)];
  else s <<= BigInt(2 - exp2);
  // point: the exponent of 10 just above x; scale so the first digit is v / s
  let point = Math.floor(Math.log10(x)) + 1;
  const shift = (p: number) => 10n ** BigInt(Math.abs(p - 1));
  const first = (p: number) => p > 0 ? v / (s * shift(p)) : v * shift(p) / s;
  while (first(point) >= 10n) point++;
  while (first(point) < 1n) point--;
  if (point > 0) s *= shift(point);
  else [v, margin] = [v * shift(point), margin * shift(point)];
  const high = unequal ? 2n : 1n;
  const maxExp = max < 0 ? -Infinity : total ? point - max : -max;
  const minExp = min < 0 ? point : Math.min(point, total ? point - min : -min);
  let digits = "";
  let digit: bigint;
  let low: boolean;
  let up: boolean;
  for (let e = point - 1;; e--) {
    digit = v / s;
    v %= s;
    low = even ? v <= margin : v < margin;
    up = even ? v + margin * high >= s : v + margin * high > s;
    if (((low || up) && e <= minExp) || e === maxExp) break;
    digits += digit;
    v *= 10n;
    margin *= 10n;
  }
  let roundUp = !low;
  if (low === up) {
    const half = 2n * v - s;
    roundUp = half > 0n || (half === 0n && digit % 2n === 1n);
  }
  if (!roundUp) digits += digit;
  else if (digit < 9n) digits += digit + 1n;
  else {
    digits = digits.replace(/9+$/, "");
    if (!digits) [digits, point] = ["1", point + 1];
    else digits = digits.slice(0, -1) + (Number(digits.at(-1)) + 1);
  }
  return { digits: digits.replace(/0+$/, "") || "0", point };
}

const sign = (x: number) => x < 0 || Object.is(x, -0) ? "-" : "";

/** numpy's dragon4_positional: [sign and integer digits, fraction digits, 0]. */
function positional(
  x: number,
  f32: boolean,
  precision: number,
  min = -1,
): [string, string, number] {
  const { digits, point } = dragon4(Math.abs(x), f32, false, precision, min);
  const int = point > 0 ? digits.slice(0, point).padEnd(point, "0") : "0";
  const frac = point >= 0 ? digits.slice(point) : "0".repeat(-point) + digits;
  return [sign(x) + int, frac, 0];
}

/** numpy's dragon4_scientific: [sign and first digit, further digits, exponent]. */
function scientific(
  x: number,
  f32: boolean,
  precision: number,
  min = -1,
): [string, string, number] {
  const cut = (n: number) => n < 0 ? -1 : n + 1;
  const { digits, point } = dragon4(Math.abs(x), f32, true, cut(precision), cut(min));
  return [sign(x) + digits[0], digits.slice(1), point - 1];
}

const expString = (e: number, digits: number) =>
  (e < 0 ? "e-" : "e+") + String(Math.abs(e)).padStart(digits, "0");

const nonFinite = (x: number) => Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";

/** numpy's `str()` of a 0-d array, i.e. of the scalar `x`. */
function scalarString(x: number, dtype: DType): string {
  if (dtype === "int32") return String(x);
  if (!Number.isFinite(x)) return nonFinite(x);
  const f32 = dtype === "float32";
  const a = Math.abs(x);
  if (a === 0 || (a >= 1e-4 && a < (f32 ? 1e6 : 1e16))) {
    const [int, frac] = positional(x, f32, -1);
    return `${int}.${frac || "0"}`;
  }
  const [int, frac, exp] = scientific(x, f32, -1);
  return int + (frac ? "." + frac : "") + expString(exp, 2);
}

/** numpy's FloatingFormat ('maxprec'): one width and notation for all `values` shown. */
function floatFormat(values: number[], f32: boolean): (x: number) => string {
  const finite = values.filter(Number.isFinite);
  const f = f32 ? Math.fround : (v: number) => v;
  let max = 0;
  let min = Infinity;
  for (const v of finite) {
    if (v !== 0) {
      max = Math.max(max, Math.abs(v));
      min = Math.min(min, Math.abs(v));
    }
  }
  const exp = max > 0 && (max >= (f32 ? 1e6 : 1e8) || min < f(1e-4) || f(max / min) > 1000);
  // a first pass finds the widths, as numpy's fillFormat does
  const form = exp ? scientific : positional;
  let padLeft = 0;
  let fracLen = 0;
  let expDigits = 2;
  for (const x of finite) {
    const [int, frac, e] = form(x, f32, PRECISION);
    padLeft = Math.max(padLeft, int.length);
    fracLen = Math.max(fracLen, frac.length);
    expDigits = Math.max(expDigits, String(Math.abs(e)).length);
  }
  const padRight = exp ? expDigits + 2 + fracLen : fracLen;
  if (finite.length < values.length) {
    padLeft = Math.max(padLeft, 2 + (values.includes(-Infinity) ? 1 : 0) - padRight);
  }
  return (x) => {
    if (!Number.isFinite(x)) return nonFinite(x).padStart(padLeft + padRight + 1);
    if (!exp) {
      const [int, frac] = positional(x, f32, PRECISION, 0);
      return `${int.padStart(padLeft)}.${frac.padEnd(fracLen)}`;
    }
    const [int, frac, e] = scientific(x, f32, fracLen, fracLen);
    return `${int.padStart(padLeft)}.${frac.padEnd(fracLen, "0")}${expString(e, expDigits)}`;
  };
}

/** numpy's IntegerFormat: right-aligned to the widest of `values`. */
function intFormat(values: number[]): (x: number) => string {
  const width = values.reduce((w, v) => Math.max(w, String(v).length), 0);
  return (x) => String(x).padStart(width);
}

/**
 * numpy's `str()` of an array of `shape` over row-major `data`, with numpy 2's
 * default options: precision 8, 'maxprec' float mode, arrays over 1000
 * elements summarised to 3 edge items per axis with "...", lines wrapped at 75.
 */
export function formatArray(data: TypedArray, shape: Shape, dtype: DType): string {
  if (shape.length === 0) return scalarString(data[0], dtype);
  const size = sizeOf(shape);
  if (size === 0) return "[]";
  const strides = stridesOf(shape);
  const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
  const kept = shape.map((n) =>
    size > THRESHOLD && n > 2 * EDGE_ITEMS
      ? [...range(EDGE_ITEMS), ...range(EDGE_ITEMS, n - EDGE_ITEMS)]
      : range(n)
  );
  const shown: number[] = [];
  const collect = (axis: number, offset: number) => {
    if (axis === shape.length) shown.push(data[offset]);
    else for (const i of kept[axis]) collect(axis + 1, offset + i * strides[axis]);
  };
  collect(0, 0);
  const fmt = dtype === "int32" ? intFormat(shown) : floatFormat(shown, dtype === "float32");

  // numpy's _formatArray: `indent` starts each line, `width` shrinks by one "]" per level.
  const render = (axis: number, offset: number, indent: string, width: number): string => {
    if (axis === shape.length) return fmt(data[offset]);
    const words = kept[axis].map((i) =>
      render(axis + 1, offset + i * strides[axis], indent + " ", width - 1)
    );
    if (words.length < shape[axis]) words.splice(EDGE_ITEMS, 0, "...");
    if (axis < shape.length - 1) {
      const body = words.map((w) => indent + w).join("\n".repeat(shape.length - 1 - axis));
      return "[" + body.slice(indent.length) + "]";
    }
    let body = "";
    let line = indent;
    words.forEach((w, k) => {
      if (line.length + w.length > width - 1 && line.length > indent.length) {
        body += line.trimEnd() + "\n";
        line = indent;
      }
      line += k < words.length - 1 ? w + " " : w;
    });
    return "[" + (body + line).slice(indent.length) + "]";
  };
  return render(0, 0, " ", LINE_WIDTH);
}

/**
 * Makes `console.log` show instances of `cls` as their `toString()`: Deno's
 * console reads `Symbol.for("Deno.customInspect")`, node's `util.inspect`
 * (and so `console.log` in node and the browser bundles built on it) reads
 * `util.inspect.custom`, which is `Symbol.for("nodejs.util.inspect.custom")`.
 */
export function inspectAsString(cls: { prototype: { toString(): string } }): void {
  for (const key of ["Deno.customInspect", "nodejs.util.inspect.custom"]) {
    Object.defineProperty(cls.prototype, Symbol.for(key), {
      value(this: { toString(): string }): string {
        return this.toString();
      },
    });
  }
}
