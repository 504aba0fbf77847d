/**
 * Test helper: a central-difference numeric gradient of a scalar function of
 * one array, the independent reference that backward results are checked
 * against.
 * @module
 */
import * as dz from "../mod.ts";

/** d f / d x by central differences, `eps` apart, as a float64 array of x's shape. */
export function centralDifference(
  f: (x: dz.NDArray) => number,
  x: dz.NDArray,
  eps = 1e-6,
): dz.NDArray {
  const xp = dz.array(x, { dtype: "float64" });
  const grad = dz.zeros(x.shape);
  const p = xp.data, g = grad.data;
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    p[i] = v + eps;
    const hi = f(xp);
    p[i] = v - eps;
    const lo = f(xp);
    p[i] = v;
    g[i] = (hi - lo) / (2 * eps);
  }
  return grad;
}

/** `sum(y * w)` as a number: reduces an output to a scalar with fixed weights. */
export function weightedSum(y: dz.Variable, w: dz.NDArray): number {
  return dz.F.sum(dz.F.mul(y, w)).data.item();
}
