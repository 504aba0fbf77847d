/**
 * Generated gather and scatter-add kernels (getItem and its gradient,
 * im2col and col2im) and index checks (class labels): the CPU backend's
 * index loops with sizes baked in.
 * @module
 */
import { sizeOf } from "../../core/array/shape_rules.ts";
import { checkLoop, checkMessage, indexLoop } from "../../core/backend/mod.ts";
import type { Graph, Node } from "../ir.ts";
import { type KernelSource, num, word } from "./source.ts";

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

/**
 * Source of an index check (`checkIndex`: class labels checked as eager
 * checks them, so a replay throws as the eager call would), or null for
 * other ops. Its message names the op, as words only.
 */
export function checkSource(
  g: Graph,
  n: Node,
  slot: (v: number) => string,
): KernelSource | null {
  if (n.op !== "checkIndex") return null;
  const size = n.attrs.size as number;
  const [pre, post] = checkMessage(word(`${n.attrs.op}`), word(`${n.attrs.what}`), size);
  const len = sizeOf(g.values[n.out].shape);
  return {
    title: `check of ${len} ${word(`${n.attrs.what}`)}s`,
    body: checkLoop(num(len), num(size), JSON.stringify(pre), JSON.stringify(post)),
    args: [...n.inputs, n.out].map(slot),
    names: ["X", "O"],
    scratch: 0,
  };
}
