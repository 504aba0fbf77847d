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
import type { KernelSource } from "./source.ts";

/**
 * Source of a matrix product `C = op(A) @ op(B) (+ bias) (relu)`, batched
 * over equal batch axes: a call per batch of the blocked `gemm` of
 * core/backend/cpu/gemm.ts (the eager kernel's loop, so results match eager), which
 * reads transposed operands by flags.
 */
export function matmulSource(
  g: Graph,
  step: MatmulStep,
  slot: (v: number) => string,
): KernelSource {
  const out = g.values[step.out];
  const A = g.values[step.a].shape, B = g.values[step.b].shape;
  const [m, n] = out.shape.slice(-2);
  const k = step.transA ? A[A.length - 2] : A[A.length - 1];
  const nb = sizeOf(out.shape.slice(0, -2));
  const aBatch = A.length > 2 ? m * k : 0, bBatch = B.length > 2 ? k * n : 0;
  const bias = step.bias !== null;
  const biasStep = bias && sizeOf(g.values[step.bias!].shape) > 1 ? 1 : 0;
  const relu = step.relu;
  const head = [
    `"use strict";`,
    `// matmul [${m}x${k}] @ [${k}x${n}]${step.transA ? " transA" : ""}${
      step.transB ? " transB" : ""
    }${bias ? " +bias" : ""}${relu ? " relu" : ""}`,
  ];
  const lines = isSmallGemm(m, n, k)
    ? [
      ...head,
      ...smallProduct(m, n, k, nb, aBatch, bBatch, step, bias ? biasStep : -1, relu, out.dtype),
    ]
    : [
      ...head,
      `for (let t = 0; t < ${nb}; t++) {`,
      `  gemm(${m}, ${n}, ${k}, A, t * ${aBatch}, ${step.transA}, B, t * ${bBatch}, ${step.transB}, C, t * ${
        m * n
      }, ${bias ? "D" : "null"}, ${relu});`,
      `}`,
    ];
  const params = [slot(step.a), slot(step.b), slot(step.out)];
  if (bias) params.push(slot(step.bias!));
  return {
    body: lines.join("\n"),
    params,
    names: ["A", "B", "C", "D"].slice(0, params.length),
    scratch: 0,
  };
}

/**
 * A small product as plain loops with sizes and strides baked in (k
 * unrolled up to 16): `gemm`'s small-product loop, same summation order
 * and bias rounding, so the same results. `biasStep` is -1 without a bias.
 */
function smallProduct(
  m: number,
  n: number,
  k: number,
  nb: number,
  aBatch: number,
  bBatch: number,
  step: MatmulStep,
  biasStep: number,
  relu: boolean,
  dtype: DType,
): string[] {
  const ars = step.transA ? 1 : k, acs = step.transA ? m : 1;
  const brs = step.transB ? 1 : n, bcs = step.transB ? k : 1;
  const dot = k <= 16
    ? Array.from({ length: k }, (_, p) => `    v += A[ai + ${p * acs}] * B[bj + ${p * brs}];`)
    : [`    for (let p = 0; p < ${k}; p++) v += A[ai + p * ${acs}] * B[bj + p * ${brs}];`];
  const store = relu ? "v < 0 ? 0 : v" : "v";
  return [
    `for (let t = 0; t < ${nb}; t++) {`,
    `for (let i = 0; i < ${m}; i++) {`,
    `  const ai = t * ${aBatch} + i * ${ars};`,
    `  for (let j = 0; j < ${n}; j++) {`,
    `    const bj = t * ${bBatch} + j * ${bcs};`,
    `    let v = 0;`,
    ...dot,
    ...(biasStep < 0 ? [] : [
      `    v = ${dtype === "float32" ? "Math.fround(v)" : "v"} + D[j * ${biasStep}];`,
    ]),
    `    C[t * ${m * n} + i * ${n} + j] = ${store};`,
    `  }`,
    `}}`,
  ];
}
