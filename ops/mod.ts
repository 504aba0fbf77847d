/**
 * `F`: every differentiable function, DeZero's `dezero.functions`: the
 * lower-case functions (`F.sin(x)`) and, as in DeZero, the Function classes
 * behind them (`F.Pow`, `F.GetItem`, ...). Every export of these modules is
 * part of F (what they share lives in helpers.ts).
 * @module
 */
export * from "./elementwise.ts";
export * from "./shape.ts";
export * from "./indexing.ts";
export * from "./reduction.ts";
export * from "./matmul.ts";
export * from "./activation.ts";
export * from "./loss.ts";
export * from "./im2col.ts";
export * from "./conv.ts";
export * from "./pooling.ts";
export * from "./batch_norm.ts";
export * from "./simple.ts";
