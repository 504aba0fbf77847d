/**
 * Common-subexpression elimination: a node that repeats an earlier node
 * (same op, same input values, same attributes) reuses its result. A
 * backward pass recomputes what its forward computed (conv2d's im2col of x
 * for the kernel gradient, softmax cross entropy's softmax and label
 * offsets), which eager execution does to free memory early; a tape keeps
 * the first result instead. Left alone: host steps and random draws, nodes
 * writing in place, nodes reading an array that something writes in place
 * (a view of it could change between the two reads), and results or
 * writebacks (each keeps its own buffer, so nothing that reads them needs
 * renaming but the nodes).
 * @module
 */
import { type Graph, liveOuts, type Node } from "../ir.ts";

/** The graph with repeated pure nodes dropped and their readers pointed at the first. */
export function cse(g: Graph): Graph {
  const written = new Set<number>();
  for (const v of g.values) if (v.target !== undefined) written.add(v.target);
  const live = liveOuts(g);
  const base = new Map<number, number>(); // a reshape's value -> the array it views
  // the array a value lives in: through views, and from an in-place result to the array it wrote
  const storage = (u: number) => {
    const b = base.get(u) ?? u;
    return g.values[b].target ?? b;
  };
  const same = new Map<number, number>(); // a dropped node's value -> the first one's
  const first = new Map<string, number>();
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const inputs = n.inputs.map((u) => same.get(u) ?? u);
    const node = inputs.every((u, k) => u === n.inputs[k]) ? n : { ...n, inputs };
    if (n.op === "reshape") base.set(n.out, storage(inputs[0]));
    const pure = n.op !== "$effect" && n.op !== "$scalar" && n.op !== "random" &&
      g.values[n.out].target === undefined && !live.has(n.out) &&
      inputs.every((u) => !written.has(storage(u)));
    if (pure) {
      const key = `${n.op}(${inputs.join()}) ${JSON.stringify(n.attrs)}`;
      const prev = first.get(key);
      if (prev !== undefined) {
        same.set(n.out, prev);
        continue;
      }
      first.set(key, n.out);
    }
    nodes.push(node);
  }
  return { ...g, nodes };
}
