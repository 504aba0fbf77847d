/**
 * `F`: every differentiable function, DeZero's `dezero.functions`.
 * @module
 */
export {
  abs,
  add,
  clip,
  cos,
  div,
  exp,
  leakyRelu,
  log,
  mul,
  neg,
  pow,
  relu,
  sigmoid,
  sin,
  sqrt,
  square,
  sub,
  tanh,
} from "./elementwise.ts";
export { broadcastTo, expandDims, flatten, reshape, sumTo, transpose } from "./shape.ts";
export { getItem } from "./indexing.ts";
export { logsumexp, max, mean, min, sum } from "./reduction.ts";
export { linear, matmul } from "./matmul.ts";
export { logSoftmax, softmax } from "./activation.ts";
export {
  accuracy,
  dropout,
  meanSquaredError,
  sigmoidCrossEntropy,
  softmaxCrossEntropy,
} from "./loss.ts";
