/**
 * Generated gather and scatter-add kernels (getItem and its gradient): the
 * CPU backend's index loop with sizes baked in.
 * @module
 */
import { sizeOf } from "../../core/array/shape_rules.ts";
import { indexLoop } from "../../core/backend/mod.ts";
import type { Graph, Node } from "../ir.ts";
import type { KernelSource } from "./source.ts";

/**
 * Source of a gather (`out[i] = x[offsets[i]]`) or scatter-add (zeros, then
 * `out[offsets[i]] += g[i]`), the kernels behind getItem and its gradient,
 * as the eager kernels compute them; null for other ops.
 */
export function gatherSource(
  g: Graph,
  n: Node,
  slot: (v: number) => string,
): KernelSource | null {
  if (n.op !== "gather" && n.op !== "scatterAdd") return null;
  const len = sizeOf(g.values[n.op === "gather" ? n.out : n.inputs[0]].shape);
  const bound = sizeOf(g.values[n.op === "gather" ? n.inputs[0] : n.out].shape);
  return {
    title: n.op === "gather" ? `gather of ${len} elements` : `scatter-add of ${len} elements`,
    body: indexLoop(n.op, String(len), String(bound)),
    args: [...n.inputs, n.out].map(slot),
    names: ["X", "I", "O"],
    scratch: 0,
  };
}
