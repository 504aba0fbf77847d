/**
 * The `pretrained` option of the image models (VGG16, ResNet): DeZero's
 * `pretrained=True` downloads weights inside the constructor; here weights
 * come from a local file, which is read asynchronously, so the option
 * belongs to the models' `static load` and a constructor given it says so.
 * @module
 */
import { checkOptions, checkString } from "../core/validate.ts";
import type { Layer } from "./layer.ts";

/** Options of `VGG16.load` and the ResNets' `load`. */
export interface PretrainedOptions {
  /**
   * A local weight file: DeZero's `.npz` (as DeZero's `save_weights` writes
   * it; its published `vgg16.npz`, `resnet50.npz`, ... load) or `.safetensors`.
   */
  pretrained?: string;
}

/**
 * The checked `pretrained` path of `options` (undefined when absent), for
 * `op`; with `inConstructor`, any `pretrained` is refused with a pointer to
 * the asynchronous `load`.
 */
export function pretrainedPath(
  options: PretrainedOptions | undefined,
  op: string,
  inConstructor: boolean,
): string | undefined {
  const { pretrained } = checkOptions(options, op, ["pretrained"]);
  if (pretrained === undefined) return undefined;
  if (inConstructor) {
    throw new TypeError(
      `${op}: reading weights is asynchronous: use \`await ${op}.load({ pretrained: path })\``,
    );
  }
  return checkString(pretrained, op, "pretrained");
}

/** `model` after loading the weights at `path`, if any. */
export async function withWeights<M extends Layer>(model: M, path: string | undefined): Promise<M> {
  if (path !== undefined) await model.loadWeights(path);
  return model;
}
