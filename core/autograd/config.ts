/**
 * Global autograd configuration (DeZero's `Config`) and the scoped helpers
 * that change it: `usingConfig`, `noGrad`, `testMode`.
 * @module
 */
import { checkBool, checkFunction, show } from "../validate.ts";

/**
 * Switches read by functions and layers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(dz.Config.train, true);
 * dz.testMode(() => assert.equal(dz.Config.train, false)); // dropout passes x through here
 * assert.equal(dz.Config.train, true);
 * ```
 */
export const Config: { enableBackprop: boolean; train: boolean } = {
  /** Record the graph for backward (off inside `noGrad`). */
  enableBackprop: true,
  /** Training mode (off inside `testMode`; dropout reads it). */
  train: true,
};

/**
 * Runs `fn` with `Config[name] = value`, restoring the old value after.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const y = dz.usingConfig("enableBackprop", false, () => new dz.Variable(2).mul(3));
 * assert.equal(y.creator, null); // no graph recorded
 * assert.equal(dz.Config.enableBackprop, true); // restored
 * ```
 */
export function usingConfig<T>(
  name: keyof typeof Config,
  value: boolean,
  fn: () => T,
): T {
  if (typeof name !== "string" || !Object.hasOwn(Config, name)) {
    throw new RangeError(
      `usingConfig: unknown setting ${show(name)} (use ${Object.keys(Config).join(", ")})`,
    );
  }
  checkBool(value, "usingConfig", "value");
  checkFunction(fn, "usingConfig", "fn");
  const old = Config[name];
  Config[name] = value;
  try {
    return fn();
  } finally {
    Config[name] = old;
  }
}

/**
 * Runs `fn` without recording the graph (DeZero's `no_grad`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const x = new dz.Variable(2);
 * const y = dz.noGrad(() => x.mul(3)); // inference: no graph kept
 * assert.equal(String(y), "variable(6.0)");
 * assert.equal(y.creator, null);
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  return usingConfig("enableBackprop", false, fn);
}

/**
 * Runs `fn` in test mode (dropout off; DeZero's `test_mode`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F } = dz;
 * const x = dz.ones([4]);
 * assert.equal(String(dz.testMode(() => F.dropout(x))), "variable([1. 1. 1. 1.])");
 * ```
 */
export function testMode<T>(fn: () => T): T {
  return usingConfig("train", false, fn);
}
