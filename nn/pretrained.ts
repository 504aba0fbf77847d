/**
 * The `pretrained` option of the image models (VGG16, ResNet): DeZero's
 * `pretrained=True` loads weights inside the constructor; here they come
 * from a local file, read synchronously by the constructor (in Deno: it needs `Deno.readFileSync`
 * and node:zlib) or asynchronously by the models' `static load` (any runtime
 * with `Deno.readFile`).
 * @module
 */
import { checkOptions, checkString } from "../core/validate.ts";
import type { Layer } from "./layer.ts";
import { loadWeightsSync } from "./weights.ts";

/** Options of the image models' constructors and of their `load`. */
export interface PretrainedOptions {
  /**
   * A local weight file: DeZero's `.npz` (as DeZero's `save_weights` writes
   * it; its published `vgg16.npz`, `resnet50.npz`, ... load) or `.safetensors`.
   */
  pretrained?: string;
}

/** The checked `pretrained` path of `options` (undefined when absent), for `op`. */
export function pretrainedPath(
  options: PretrainedOptions | undefined,
  op: string,
): string | undefined {
  const { pretrained } = checkOptions(options, op, ["pretrained"]);
  return pretrained === undefined ? undefined : checkString(pretrained, op, "pretrained");
}

/**
 * For a constructor: loads into `model` (built in full) the weights of the
 * file at `path` (checked by `pretrainedPath`), if any, synchronously;
 * errors name `op`.
 */
export function loadPretrained(model: Layer, path: string | undefined, op: string): void {
  if (path !== undefined) loadWeightsSync(model.namedParams(), path, op);
}

/** `model` after loading the weights at `path`, if any (the models' `static load`). */
export async function withWeights<M extends Layer>(model: M, path: string | undefined): Promise<M> {
  if (path !== undefined) await model.loadWeights(path);
  return model;
}
