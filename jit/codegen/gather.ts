/**
 * Generated gather and scatter-add kernels (getItem and its gradient,
 * im2col and col2im): the CPU backend's index loop with sizes baked in.
 * @module
 */
import { sizeOf } from "../../core/array/shape_rules.ts";
import { indexLoop } from "../../core/backend/mod.ts";
import type { Graph, Node } from "../ir.ts";
import type { KernelSource } from "./source.ts";

/**
 * Source of a gather (`out[b, i] = x[b, offsets[i]]`) or scatter-add
 * (zeros, then `out[b, offsets[i]] += g[b, i]`) over `attrs.batch` blocks
 * (default 1), as the eager kernels compute them; null for other ops.
 */
export function gatherSource(
  g: Graph,
  n: Node,
  slot: (v: number) => string,
): KernelSource | null {
  if (n.op !== "gather" && n.op !== "scatterAdd") return null;
  const batch = (n.attrs.batch as number | undefined) ?? 1;
  const len = sizeOf(g.values[n.op === "gather" ? n.out : n.inputs[0]].shape) / batch;
  const bound = sizeOf(g.values[n.op === "gather" ? n.inputs[0] : n.out].shape) / batch;
  return {
    title: `${n.op === "gather" ? "gather" : "scatter-add"} of ${len} elements${
      batch > 1 ? ` in each of ${batch} blocks` : ""
    }`,
    body: indexLoop(n.op, String(len), String(bound), String(batch)),
    args: [...n.inputs, n.out].map(slot),
    names: ["X", "I", "O"],
    scratch: 0,
  };
}
