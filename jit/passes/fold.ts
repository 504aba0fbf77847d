/**
 * Constant folding: an elementwise node whose operands are all constant
 * scalars (a mean's `1 / n`) is computed once, at compile time, by the
 * eager kernel (so with eager's rounding); its value becomes a constant,
 * which code generators bake in as a literal.
 * @module
 */
import { allocate } from "../../core/array/alloc.ts";
import { ARRAY_KERNELS } from "../../core/dispatch.ts";
import { NDArray } from "../../core/array/ndarray.ts";
import { isElementwise } from "../../core/registry.ts";
import { sizeOf } from "../../core/array/shape_rules.ts";
import { constantScalar, type Graph } from "../ir.ts";

/** The graph with its single-value elementwise nodes over constant scalars computed. */
export function fold(g: Graph): Graph {
  const values = [...g.values];
  const out: Graph = { ...g, values, nodes: [] };
  for (const n of g.nodes) {
    const v = values[n.out];
    const cs = n.inputs.map((u) => constantScalar(out, u));
    if (
      !isElementwise(n.op) || v.target !== undefined || sizeOf(v.shape) !== 1 ||
      cs.some((c) => c === undefined)
    ) {
      out.nodes.push(n);
      continue;
    }
    const inputs = n.inputs.map((u, k) => {
      const a = allocate(values[u].dtype, 1);
      a[0] = cs[k]!;
      return new NDArray(a, values[u].shape);
    });
    values[n.out] = {
      ...v,
      source: { kind: "const", array: ARRAY_KERNELS[n.op](inputs, n.attrs) },
    };
  }
  return out;
}
