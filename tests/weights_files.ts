/**
 * Helpers of the weight-file tests: hand-built `.npy` files, a temporary
 * directory, and the check that a refused load changes nothing.
 * @module
 */
import assert from "node:assert/strict";
import type { Variable } from "../mod.ts";
import { loadWeights } from "../nn/weights.ts";

/** Named parameters, as saveWeights/loadWeights take them. */
export type Params = Map<string, Variable>;

/** The bytes of an ASCII string. */
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The bytes behind a typed array. */
export const bytes = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Each parameter's name, dtype, shape and values. */
export function snapshot(params: Params): unknown[] {
  return [...params].map(([name, p]) => ({
    name,
    dtype: p.data.dtype,
    shape: p.data.shape,
    values: Array.from(p.data.data),
  }));
}

export /** An .npy (format 1.0) file built by hand from the numpy format specification. */
function npy(descr: string, shape: string, data: Uint8Array, fortran = false): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': ${
    fortran ? "True" : "False"
  }, 'shape': ${shape}, }`;
  const len = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const out = new Uint8Array(10 + len + data.length);
  out.set([0x93, ...ascii("NUMPY"), 1, 0, len & 0xff, len >> 8]);
  out.set(ascii(dict.padEnd(len - 1, " ") + "\n"), 10);
  out.set(data, 10 + len);
  return out;
}

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dezero-weights-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export /** Loading `path` into `params` fails with `message` and changes nothing. */
async function assertRefused(params: Params, path: string, message: RegExp): Promise<void> {
  const before = snapshot(params);
  await assert.rejects(loadWeights(params, path), message);
  assert.deepEqual(snapshot(params), before);
}
