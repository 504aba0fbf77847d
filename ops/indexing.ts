/**
 * getItem: numpy basic and fancy indexing (placeholder being written).
 * @module
 */
import type { Variable, VariableLike } from "../core/variable.ts";

/** A numpy slice `start:stop:step` (null = omitted). */
export interface Slice {
  /** First index (null = from the start). */
  start: number | null;
  /** End index, exclusive (null = to the end). */
  stop: number | null;
  /** Step (null = 1). */
  step: number | null;
}

/** `dz.slice(start, stop, step)`: the slice `start:stop:step`. */
export function slice(start: number | null = null, stop: number | null = null, step: number | null = null): Slice {
  return { start, stop, step };
}

/** `x[index]` (not written yet). */
export function getItem(_x: VariableLike, _index: unknown): Variable {
  throw new Error("getItem: not implemented yet");
}
