/**
 * Global autograd configuration (DeZero's `Config`) and the scoped helpers
 * that change it: `usingConfig`, `noGrad`, `testMode`.
 * @module
 */

/** Switches read by functions and layers. */
export const Config: { enableBackprop: boolean; train: boolean } = {
  /** Record the graph for backward (off inside `noGrad`). */
  enableBackprop: true,
  /** Training mode (off inside `testMode`; dropout reads it). */
  train: true,
};

/** Runs `fn` with `Config[name] = value`, restoring the old value after. */
export function usingConfig<T>(
  name: keyof typeof Config,
  value: boolean,
  fn: () => T,
): T {
  if (!(name in Config)) {
    throw new RangeError(`usingConfig: unknown setting '${name}'`);
  }
  const old = Config[name];
  Config[name] = value;
  try {
    return fn();
  } finally {
    Config[name] = old;
  }
}

/** Runs `fn` without recording the graph (DeZero's `no_grad`). */
export function noGrad<T>(fn: () => T): T {
  return usingConfig("enableBackprop", false, fn);
}

/** Runs `fn` in test mode (dropout off; DeZero's `test_mode`). */
export function testMode<T>(fn: () => T): T {
  return usingConfig("train", false, fn);
}
