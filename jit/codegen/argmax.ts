/**
 * Generated argmax kernels (max pooling's indices, accuracy's predictions):
 * the CPU backend's argmax loop with sizes baked in.
 * @module
 */
import { sizeOf } from "../../core/array/shape_rules.ts";
import { argmaxLoop } from "../../core/backend/mod.ts";
import type { Graph, Node } from "../ir.ts";
import type { KernelSource } from "./source.ts";

/** Source of an argmax along `attrs.axis`, as the eager kernel computes it; null for other ops. */
export function argmaxSource(
  g: Graph,
  n: Node,
  slot: (v: number) => string,
): KernelSource | null {
  if (n.op !== "argmax") return null;
  const shape = g.values[n.inputs[0]].shape;
  const axis = n.attrs.axis as number;
  const outer = sizeOf(shape.slice(0, axis)), inner = sizeOf(shape.slice(axis + 1));
  return {
    title: `argmax along axis ${axis} of [${shape}]`,
    body: argmaxLoop(String(outer), String(shape[axis]), String(inner)),
    args: [n.inputs[0], n.out].map(slot),
    names: ["X", "O"],
    scratch: 0,
  };
}
