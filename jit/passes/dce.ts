/**
 * Dead-code elimination: keeps the nodes whose results are returned,
 * written back, written into real arrays in place, or that have effects
 * (host steps, random draws, which advance the generator as eager does).
 * @module
 */
import { type Graph, liveOuts, type Node } from "../ir.ts";

/** Whether a node must run regardless of whether its value is used. */
function hasEffect(g: Graph, n: Node): boolean {
  return n.op === "$effect" || n.op === "$scalar" || n.op === "random" ||
    (n.out >= 0 && g.values[n.out].target !== undefined);
}

/** The graph without nodes whose results nothing needs. */
export function dce(g: Graph): Graph {
  const live = liveOuts(g);
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!hasEffect(g, n) && !live.has(n.out)) continue;
    keep[i] = true;
    for (const x of n.inputs) live.add(x);
  }
  return { ...g, nodes: g.nodes.filter((_, i) => keep[i]) };
}
