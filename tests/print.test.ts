/**
 * formatArray() against numpy's str(): hand-written cases plus the fixtures of
 * tests/fixtures/make_print.py (numpy 2, default print options).
 * @module
 */
import assert from "node:assert/strict";
import { formatArray } from "../core/array/print.ts";
import { arrayCtor, type DType } from "../core/array/dtype.ts";
import { sizeOf } from "../core/array/shape_rules.ts";
import data from "./fixtures/print.json" with { type: "json" };

interface Case {
  group: string;
  dtype: string;
  shape: number[];
  values?: (number | string)[];
  arange?: number[];
  expected: string;
}

const cases = data.cases as Case[];

const decode = (v: number | string) =>
  typeof v === "number" ? v : v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity;

/** formatArray() of a fixture case, its data built as make_print.py describes. */
function format(c: Case): string {
  const dtype = c.dtype as DType;
  const out = new (arrayCtor(dtype))(sizeOf(c.shape));
  if (c.values) out.set(c.values.map(decode));
  else {
    const [start, step] = c.arange!;
    for (let i = 0; i < out.length; i++) out[i] = i * step + start;
  }
  return formatArray(out, c.shape, dtype);
}

function checkGroup(group: string, dtype?: DType) {
  const selected = cases.filter((c) => c.group === group && (!dtype || c.dtype === dtype));
  assert.ok(selected.length > 0, `no fixtures in group ${group}`);
  for (const c of selected) {
    const input = c.values ? JSON.stringify(c.values.slice(0, 8)) : `arange ${c.arange}`;
    assert.equal(format(c), c.expected, `${c.dtype} ${JSON.stringify(c.shape)} ${input}`);
  }
}

const i32 = (values: number[]) => Int32Array.from(values);
const f64 = (values: number[]) => Float64Array.from(values);

Deno.test("formatArray() prints DeZero's examples as numpy does", () => {
  assert.equal(
    formatArray(i32([11, 22, 33, 44, 55, 66]), [2, 3], "int32"),
    "[[11 22 33]\n [44 55 66]]",
  );
  assert.equal(formatArray(i32([5, 7, 9]), [1, 3], "int32"), "[[5 7 9]]");
  assert.equal(formatArray(i32([6, 15]), [2, 1], "int32"), "[[ 6]\n [15]]");
  assert.equal(formatArray(i32([0, 1, 10, 11]), [2, 2], "int32"), "[[ 0  1]\n [10 11]]");
  assert.equal(formatArray(i32([231]), [], "int32"), "231");
  assert.equal(formatArray(f64([2.5]), [], "float64"), "2.5");
  assert.equal(formatArray(f64([1]), [], "float64"), "1.0");
  assert.equal(formatArray(f64([1, 2.5]), [2], "float64"), "[1.  2.5]");
  assert.equal(formatArray(f64([1e-5, 1]), [2], "float64"), "[1.e-05 1.e+00]");
  assert.equal(formatArray(f64([1e10, 1.5]), [2], "float64"), "[1.0e+10 1.5e+00]");
  assert.equal(formatArray(f64([NaN, Infinity, -Infinity]), [3], "float64"), "[ nan  inf -inf]");
  assert.equal(formatArray(Float32Array.from([0.1, 0.2]), [2], "float32"), "[0.1 0.2]");
  assert.equal(formatArray(i32([]), [0, 3], "int32"), "[]");
});

Deno.test("formatArray() separates blocks of 3-d arrays by blank lines", () => {
  const x = i32(Array.from({ length: 8 }, (_, i) => i));
  assert.equal(formatArray(x, [2, 2, 2], "int32"), "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]");
});

Deno.test("formatArray() rounds positional floats to 8 decimals, half to even", () => {
  assert.equal(formatArray(f64([1 / 3]), [1], "float64"), "[0.33333333]");
  assert.equal(formatArray(f64([123456.789012345]), [1], "float64"), "[123456.78901235]");
  assert.equal(formatArray(f64([0.001953125]), [1], "float64"), "[0.00195312]");
  assert.equal(
    formatArray(f64([1234567885, 1]), [2], "float64"),
    "[1.23456788e+09 1.00000000e+00]",
  );
});

Deno.test("formatArray() prints int32 arrays as numpy", () => checkGroup("int"));

Deno.test("formatArray() prints empty arrays as []", () => checkGroup("empty"));

Deno.test("formatArray() prints 0-d float arrays as numpy's scalars", () => checkGroup("scalar"));

Deno.test("formatArray() prints float64 in positional notation as numpy", () => {
  checkGroup("positional", "float64");
});

Deno.test("formatArray() prints float32 as numpy's shortest repr", () => {
  assert.equal(formatArray(Float32Array.from([0.1]), [], "float32"), "0.1");
  assert.equal(formatArray(Float32Array.from([1 / 3]), [1], "float32"), "[0.33333334]");
  checkGroup("positional", "float32");
});

Deno.test("formatArray() switches to scientific notation where numpy does", () => {
  checkGroup("scientific");
});

Deno.test("formatArray() pads nan, inf and -inf as numpy", () => checkGroup("nonfinite"));

Deno.test("formatArray() prints n-d float arrays as numpy", () => checkGroup("ndim"));

Deno.test("formatArray() wraps long rows at 75 characters as numpy", () => checkGroup("wrap"));

Deno.test("formatArray() summarises arrays over 1000 elements with ...", () => {
  assert.equal(
    formatArray(i32(Array.from({ length: 1000000 }, (_, i) => i % 1000)), [1000000], "int32"),
    "[  0   1   2 ... 997 998 999]",
  );
  checkGroup("summary");
});

Deno.test("formatArray() prints a 1e6-element float array quickly", () => {
  const x = new Float64Array(1_000_000).map((_, i) => Math.sqrt(i));
  const start = performance.now();
  const s = formatArray(x, [1000, 1000], "float64");
  assert.ok(performance.now() - start < 200, "summarising should not format every element");
  assert.equal(
    s,
    [
      "[[  0.           1.           1.41421356 ...  31.57530681  31.591138\n",
      "   31.60696126]\n",
      " [ 31.6227766   31.63858404  31.65438358 ...  44.68780594  44.69899328\n",
      "   44.71017781]\n",
      " [ 44.72135955  44.73253849  44.74371464 ...  54.74486277  54.75399529\n",
      "   54.76312628]\n",
      " ...\n",
      " [998.49887331 998.49937406 998.49987481 ... 998.997998   998.9984985\n",
      "  998.998999  ]\n",
      " [998.9994995  999.         999.0005005  ... 999.49837419 999.49887444\n",
      "  999.49937469]\n",
      " [999.49987494 999.50037519 999.50087544 ... 999.9985     999.999\n",
      "  999.9995    ]]",
    ].join(""),
  );
});
