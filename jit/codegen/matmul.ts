/**
 * Generated matrix-product kernels: small products as loops with sizes and
 * strides baked in, larger ones as calls of the backend's gemm per batch.
 * @module
 */
import type { DType } from "../../core/array/dtype.ts";
import { sizeOf } from "../../core/array/shape_rules.ts";
import { isSmallGemm } from "../../core/backend/mod.ts";
import type { Graph } from "../ir.ts";
import type { MatmulStep } from "../passes/fusion.ts";
import { type KernelSource, scaled, sum } from "./source.ts";

/** A product's sizes: `nb` batches of `[m x k] @ [k x n]`, with each operand's batch stride. */
interface Product {
  m: number;
  n: number;
  k: number;
  nb: number;
  aBatch: number;
  bBatch: number;
}

/**
 * Source of a matrix product `C = op(A) @ op(B) (+ bias) (relu)`, batched
 * over equal batch axes: small products as loops, others as a call per
 * batch of the backend's blocked `gemm` (the eager kernel, so results match
 * eager), which reads transposed operands by flags.
 */
export function matmulSource(
  g: Graph,
  step: MatmulStep,
  slot: (v: number) => string,
  keep = -1,
): KernelSource {
  const out = g.values[step.out];
  const A = g.values[step.a].shape, B = g.values[step.b].shape;
  const [m, n] = out.shape.slice(-2);
  const k = step.transA ? A[A.length - 2] : A[A.length - 1];
  const p: Product = {
    m,
    n,
    k,
    nb: sizeOf(out.shape.slice(0, -2)),
    aBatch: A.length > 2 ? m * k : 0,
    bBatch: B.length > 2 ? k * n : 0,
  };
  const biasStep = step.bias === null ? -1 : sizeOf(g.values[step.bias].shape) > 1 ? 1 : 0;
  const args = [slot(step.a), slot(step.b), slot(step.out)];
  if (step.bias !== null) args.push(slot(step.bias));
  const flags = [step.transA && "A transposed", step.transB && "B transposed"];
  const extra = [step.bias !== null && "+ bias", step.relu && "relu"];
  return {
    title: `matmul [${m}x${k}] @ [${k}x${n}]${p.nb > 1 ? ` x ${p.nb} batches` : ""} ${
      [...flags, ...extra].filter(Boolean).join(", ")
    }`.trim(),
    body: !isSmallGemm(m, n, k)
      ? gemmCalls(p, step, biasStep >= 0, keep)
      : byRows(p, step)
      ? smallProduct(p, step, biasStep, out.dtype, rowDot(p, step))
      : smallProduct(p, step, biasStep, out.dtype),
    args,
    names: ["A", "B", "C", "D"].slice(0, args.length),
    scratch: isSmallGemm(m, n, k) && byRows(p, step) ? n : 0,
  };
}

/** Whether a small product reads B along its rows (B stored [k, n], several columns and terms). */
function byRows(p: Product, step: MatmulStep): boolean {
  return !step.transB && p.n > 1 && p.k > 1;
}

/** `body` once per batch (`t` the batch), or once when there is one. */
function perBatch(nb: number, body: string): string {
  return nb === 1 ? body : `for (let t = 0; t < ${nb}; t++) {\n${body}\n}`;
}

/** A call of the backend's gemm per batch (`keep`: see `keptOperands`). */
function gemmCalls(p: Product, step: MatmulStep, bias: boolean, keep: number): string {
  const t = p.nb === 1 ? "" : "t";
  const call = `gemm(${p.m}, ${p.n}, ${p.k}, A, ${sum(scaled(t, p.aBatch))}, ${step.transA}, B, ${
    sum(scaled(t, p.bBatch))
  }, ${step.transB}, C, ${sum(scaled(t, p.m * p.n))}, ${bias ? "D" : "null"}, ${step.relu}${
    keep >= 0 ? `, ${keep}` : ""
  });`;
  return perBatch(p.nb, call);
}

/**
 * The products that keep their B operand packed for the rest of a replay:
 * per matmul step, the index of its operand's pack where two or more
 * unbatched products past the small-product rule read the same value as B,
 * the same way round (an LSTM's recurrent weights, read by every time step
 * of a window and again, transposed, by its backward), else -1. A value
 * stays as it is while it is live, so its pack does.
 */
export function keptOperands(g: Graph, steps: MatmulStep[]): number[] {
  const key = (s: MatmulStep) => {
    const A = g.values[s.a].shape, out = g.values[s.out].shape;
    const [m, n] = out.slice(-2), k = s.transA ? A[A.length - 2] : A[A.length - 1];
    const unbatched = sizeOf(out.slice(0, -2)) === 1 && g.values[s.b].shape.length <= 2;
    return unbatched && !isSmallGemm(m, n, k) ? `${s.b} ${s.transB}` : null;
  };
  const keys = steps.map(key);
  const groups = [...new Set(keys.filter((k, i) => k !== null && keys.indexOf(k) !== i))];
  return keys.map((k) => (k === null ? -1 : groups.indexOf(k)));
}

/**
 * A small product as plain loops with sizes and strides baked in (k
 * unrolled up to 16): `gemm`'s small-product loop, same summation order
 * and bias rounding, so the same results. `biasStep` is -1 without a bias.
 * `rows`, when given, computes row i of the product into `scratch` first
 * (see `rowDot`), and each element then starts from `scratch[j]`.
 */
function smallProduct(
  p: Product,
  step: MatmulStep,
  biasStep: number,
  dtype: DType,
  rows?: string[],
): string {
  const { m, n, k, nb } = p;
  const t = nb === 1 ? "" : "t";
  const ars = step.transA ? 1 : k, acs = step.transA ? m : 1;
  const brs = step.transB ? 1 : n, bcs = step.transB ? k : 1;
  const dot = rows ? [] : k <= 16
    ? Array.from(
      { length: k },
      (_, q) => `v += A[${sum("ai", q * acs)}] * B[${sum("bj", q * brs)}];`,
    )
    : [
      `for (let q = 0; q < ${k}; q++) v += A[${sum("ai", scaled("q", acs))}] * B[${
        sum("bj", scaled("q", brs))
      }];`,
    ];
  const bias = biasStep < 0
    ? []
    : [`v = ${dtype === "float32" ? "Math.fround(v)" : "v"} + D[${sum(scaled("j", biasStep))}];`];
  const loops = [
    `for (let i = 0; i < ${m}; i++) {`,
    `const ai = ${sum(scaled(t, p.aBatch), scaled("i", ars))};`,
    ...(rows ?? []),
    `for (let j = 0; j < ${n}; j++) {`,
    ...(rows ? [] : [`const bj = ${sum(scaled(t, p.bBatch), scaled("j", bcs))};`]),
    `let v = ${rows ? "scratch[j]" : "0"};`,
    ...dot,
    ...bias,
    `C[${sum(scaled(t, m * n), scaled("i", n), "j")}] = ${step.relu ? "v < 0 ? 0 : v" : "v"};`,
    `}`,
    `}`,
  ];
  return perBatch(nb, loops.join("\n"));
}

/**
 * Row i of a small product accumulated term by term into `scratch` (float64,
 * n wide): `scratch[j] += A[i, q] * B[q, j]` for q = 0, 1, ..., reading B
 * along its rows, where the element-by-element loop strides down B's
 * columns (3x faster at [1x100] @ [100x100]). Each element still adds its k
 * products in order from 0, so the results are the same.
 */
function rowDot(p: Product, step: MatmulStep): string[] {
  const acs = step.transA ? p.m : 1;
  const bq = sum(scaled(p.nb === 1 ? "" : "t", p.bBatch), scaled("q", p.n));
  return [
    `scratch.fill(0);`,
    `for (let q = 0; q < ${p.k}; q++) {`,
    `const a = A[${sum("ai", scaled("q", acs))}], bq = ${bq};`,
    `for (let j = 0; j < ${p.n}; j++) scratch[j] += a * B[bq + j];`,
    `}`,
  ];
}
