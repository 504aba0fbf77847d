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
export { average, logsumexp, max, mean, min, sum } from "./reduction.ts";
export { linear, matmul } from "./matmul.ts";
export { logSoftmax, softmax } from "./activation.ts";
export {
  accuracy,
  binaryCrossEntropy,
  dropout,
  meanSquaredError,
  sigmoidCrossEntropy,
  softmaxCrossEntropy,
} from "./loss.ts";
export { col2im, im2col } from "./im2col.ts";
export { conv2d, deconv2d } from "./conv.ts";
export { averagePooling, pooling } from "./pooling.ts";
export { batchNorm } from "./batch_norm.ts";
export {
  conv2dSimple,
  linearSimple,
  meanSquaredErrorSimple,
  poolingSimple,
  sigmoidSimple,
  softmaxCrossEntropySimple,
  softmaxSimple,
} from "./simple.ts";
