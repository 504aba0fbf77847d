/**
 * DeZero.ts: DeZero, the define-by-run deep-learning framework of "Deep
 * Learning from Scratch 3", in TypeScript for Deno, with a tracing JIT.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2, 3], [4, 5, 6]]);
 * const y = F.sum(x.mul(x));
 * y.backward();
 * console.log(x.grad); // variable([[ 2  4  6]
 * //                                [ 8 10 12]])
 * assert.equal(String(x.grad), "variable([[ 2  4  6]\n          [ 8 10 12]])");
 * ```
 * @module
 */
import * as ops from "./ops/mod.ts";
import { installOps } from "./core/autograd/variable.ts";

installOps(ops);

export * as F from "./ops/mod.ts";
export * as random from "./core/array/random.ts";
export * as utils from "./ops/utils.ts";
export {
  BottleneckA,
  BottleneckB,
  BuildingBlock,
  DataLoader,
  Dataset,
  datasets,
  L,
  Layer,
  type LayerOrFunction,
  MLP,
  Model,
  optimizers,
  type PretrainedOptions,
  ResNet,
  ResNet101,
  ResNet152,
  ResNet50,
  SeqDataLoader,
  Sequential,
  transforms,
  VGG16,
} from "./nn/mod.ts";
export { Config, noGrad, testMode, usingConfig } from "./core/autograd/config.ts";
export { readState, writeState } from "./core/hooks.ts";
export { getThreads, setThreads } from "./core/backend/mod.ts";
export type { DType, TypedArray } from "./core/array/dtype.ts";
export { Function, VariableRef } from "./core/autograd/function.ts";
export {
  arange,
  array,
  type ArrayLike,
  type ArrayOptions,
  asArray,
  full,
  NDArray,
  type NestedArray,
  ones,
  onesLike,
  type Operand,
  zeros,
  zerosLike,
} from "./core/array/ndarray.ts";
export {
  asVariable,
  type BackwardOptions,
  Parameter,
  Variable,
  type VariableLike,
} from "./core/autograd/variable.ts";
export { type Index, type IndexComponent, type Slice, slice } from "./ops/indexing.ts";
export type { Shape } from "./core/array/shape_rules.ts";
export { jit, type JitOptions, type JitStats, type Jitted } from "./jit/mod.ts";
export type { ExportOptions, NamedParams } from "./jit/export.ts";
// the layer types the image models' fields hold (the classes are L.Conv2d, ...)
export type { BatchNorm, Conv2d, ConvLayer, Linear } from "./nn/layers.ts";
export type { Pair } from "./ops/conv_sizes.ts";
