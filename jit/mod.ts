/**
 * `jit(fn)`: traces `fn` on the first call of each input signature, compiles
 * the trace into a tape of fused, shape-specialised JavaScript kernels and
 * replays it on later calls; a bounded LRU cache holds the tapes.
 * @module
 */
import { tracer } from "../core/hooks.ts";
import type { Parameter } from "../core/autograd/variable.ts";
import type { DType } from "../core/array/dtype.ts";
import { type ExportOptions, exportTape } from "./export.ts";
import type { ArgSpec } from "./standalone.ts";
import { compileTape, type Tape } from "./tape.ts";
import { trace, type TraceResult, Untraceable } from "./trace.ts";
import { planGraph } from "./vjp.ts";
import { type ArgSignature, matches, type Signature, signatureOf } from "./signature.ts";
import { checkFunction, checkInt, checkOptions } from "../core/validate.ts";

/** Options of `jit`. */
export interface JitOptions {
  /** Most tapes kept (least recently used evicted first); default 8. */
  maxCache?: number;
}

/** What `step.stats()` reports. */
export interface JitStats {
  /** Traces run (first calls of new signatures, and retraces). */
  traces: number;
  /** Calls served by a cached tape. */
  cacheHits: number;
  /** Compiled kernels in the most recent tape. */
  kernels: number;
  /** Primitive calls folded into those kernels. */
  fusedOps: number;
  /** Eager-fallback steps in the most recent tape. */
  fallbacks: number;
  /** Op names of those fallbacks. */
  fallbackOps: string[];
  /** Calls run eagerly (value-dependent signatures). */
  eagerRuns: number;
  /** Tapes in the cache. */
  cached: number;
}

/** A jitted function: `fn`'s signature, plus `stats()` and `source()`. */
export interface Jitted<A extends unknown[], R> {
  /** Runs `fn` (traced, replayed or eagerly). */
  (...args: A): R;
  /** Counters of tracing, caching and the latest tape. */
  stats(): JitStats;
  /** Generated JavaScript of the most recent tape ("" before any). */
  source(): string;
  /**
   * The most recent tape as one self-contained ES module that runs without
   * `eval` or `new Function` (a CSP page, a Cloudflare Worker), bundled and
   * minified by esbuild-wasm; written to `options.path` when given. Its
   * default export takes the traced arguments (NDArrays or typed arrays of
   * the traced shapes) and returns the results (arrays as `{ shape, dtype,
   * data }`); `weights()` and `setWeights(w)` read and write the parameters
   * by dotted name (pass `{ model }`); `hyper` holds the numbers its
   * optimizer reads. Carries the state as at export (parameters, optimizer
   * moments and step count, the random generator).
   *
   * @example
   * ```ts
   * import * as dz from "../mod.ts";
   * const model = new dz.MLP([4, 2]);
   * const predict = dz.jit((x: dz.NDArray) => dz.F.softmax(model.apply(x)));
   * const x = dz.random.randn(3, 2).astype("float32");
   * predict(x); // draws the model's weights (Linear's lazy inSize)
   * predict(x); // compiles the tape
   * const code = await predict.export({ model });
   * const mod = await import(`data:text/javascript,${encodeURIComponent(code)}`);
   * console.log(mod.default(x).data, Object.keys(mod.weights())); // ... [ "l0.W", "l0.b", ...
   * ```
   */
  export(options?: ExportOptions): Promise<string>;
}

/**
 * A signature's tapes (variants for layer state, gradients...); eager runs
 * (a replay could not stand in); or a refusal (what the function returns
 * cannot be replayed), thrown before the function runs again.
 */
type Entry = { tapes: Tape[] } | { eager: true } | { refused: string };

/** A signature's arguments as an exported module checks them. */
function argSpecs(args: ArgSignature[]): ArgSpec[] {
  return args.map((a) =>
    "value" in a ? { literal: String(a.value) } : { dtype: a.dtype as DType, shape: a.shape }
  );
}

/** Most tapes one signature keeps (the oldest is dropped first). */
const MAX_VARIANTS = 4;

/**
 * Traces in a row that may draw new parameters (lazy layers first used on
 * later calls, as an RNN's `h2h`) before the function counts as one that
 * makes new ones on every call, and runs eagerly.
 */
const MAX_DRAWING = 3;

/**
 * Compiles `fn` into a traced, fused, replayed version with the same results.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, MLP, optimizers, random } = dz;
 * random.seed(0);
 * const model = new MLP([10, 1]);
 * const optimizer = new optimizers.SGD(0.2).setup(model);
 * const step = dz.jit((x: dz.NDArray, t: dz.NDArray) => {
 *   const loss = F.meanSquaredError(model.apply(x), t);
 *   model.cleargrads();
 *   loss.backward();
 *   optimizer.update();
 *   return loss;
 * });
 * const x = random.rand(100, 1), t = x.mul(2).add(5);
 * const first = step(x, t).item(); // traced (and run eagerly)
 * for (let i = 0; i < 100; i++) step(x, t); // replayed as compiled loops
 * assert.ok(step(x, t).item() < first / 10);
 * // the first call also drew Linear's lazy weights, so the second traced again
 * assert.deepEqual([step.stats().traces, step.stats().cacheHits], [2, 100]);
 * ```
 */
export function jit<A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: JitOptions,
): Jitted<A, R> {
  checkFunction(fn, "jit", "fn");
  const { maxCache = 8 } = checkOptions(options, "jit", ["maxCache"]);
  checkInt(maxCache, "jit", "maxCache", 1);
  const cache = new Map<string, Entry>();
  const drawn = new WeakSet<Parameter>(); // parameters a trace initialised
  let drawing = 0; // traces in a row that initialised new ones
  const counts = { traces: 0, cacheHits: 0, eagerRuns: 0 };
  let last: Tape | null = null;
  let lastArgs: ArgSignature[] = []; // the arguments `last` was traced with
  let lastEntry: Entry | null = null;
  let warned = false;
  let seen: Signature | null = null; // the most recent call's signature
  const step = (...args: A): R => {
    // inside another jitted function's trace: run inline, so that trace records the kernels
    if (tracer !== null) return fn(...args);
    if (seen === null || !matches(seen, args)) seen = signatureOf(args);
    const key = seen.key;
    const hit = cache.get(key);
    if (hit) {
      if (hit !== lastEntry) { // keep the LRU order: most recently used last
        cache.delete(key);
        cache.set(key, hit);
        lastEntry = hit;
      }
      if ("refused" in hit) throw new TypeError(hit.refused);
      if ("eager" in hit) {
        counts.eagerRuns++;
        return fn(...args);
      }
      for (let i = 0; i < hit.tapes.length; i++) {
        const tape = hit.tapes[i];
        if (tape.stale(args)) continue;
        counts.cacheHits++;
        last = tape;
        lastArgs = seen.args;
        return tape.replay(args) as R;
      }
    }
    if (seen.overlap) {
      remember(key, eagerly("its arguments share memory without being the same array"));
      counts.eagerRuns++;
      return fn(...args);
    }
    counts.traces++;
    const t = trace(fn as (...xs: unknown[]) => R, args);
    if (t.refused !== undefined) {
      remember(key, { refused: t.refused });
      throw new TypeError(t.refused);
    }
    const draws = t.initialized.some((p) => !drawn.has(p));
    drawing = draws ? drawing + 1 : 0;
    if (draws && drawing <= MAX_DRAWING) {
      for (const p of t.initialized) drawn.add(p); // trace again once the parameters exist
      return t.returned;
    }
    let entry: Entry;
    const compiled = draws
      ? "it draws new parameters on every call"
      : t.eagerReason === null
      ? compile(t)
      : t.eagerReason;
    if (typeof compiled === "string") entry = eagerly(compiled);
    else {
      last = compiled;
      lastArgs = seen.args;
      entry = hit && "tapes" in hit ? hit : { tapes: [] };
      entry.tapes.push(compiled);
      if (entry.tapes.length > MAX_VARIANTS) entry.tapes.shift();
    }
    remember(key, entry);
    return t.returned;
  };
  /** Caches `entry` under `key`, dropping the least recently used entries past `maxCache`. */
  const remember = (key: string, entry: Entry) => {
    cache.set(key, entry);
    lastEntry = entry;
    while (cache.size > maxCache) cache.delete(cache.keys().next().value!);
  };
  /** An eager entry, saying why (once). */
  const eagerly = (reason: string): Entry => {
    if (!warned) {
      console.warn(`jit: running the function eagerly: ${reason}`);
      warned = true;
    }
    return { eager: true };
  };
  return Object.assign(step, {
    stats: (): JitStats => ({
      ...counts,
      kernels: last?.stats.kernels ?? 0,
      fusedOps: last?.stats.fusedOps ?? 0,
      fallbacks: last?.stats.fallbacks ?? 0,
      fallbackOps: [...(last?.stats.fallbackOps ?? [])],
      cached: cache.size,
    }),
    source: () => last?.source ?? "",
    export: (options?: ExportOptions): Promise<string> => {
      if (last === null) {
        return Promise.reject(
          new Error(
            `export: ${
              counts.eagerRuns > 0
                ? "the function runs eagerly (it reads array values)"
                : "no tape yet"
            }: call the jitted function (twice for a lazily initialised model) before exporting`,
          ),
        );
      }
      return exportTape(last, fn.name || "function", argSpecs(lastArgs), options);
    },
  });
}

/** The tape of a trace, or why it cannot be replayed. */
function compile(t: TraceResult<unknown>): Tape | string {
  try {
    return compileTape(t.graph, planGraph(t));
  } catch (e) {
    if (e instanceof Untraceable) return e.message;
    throw e;
  }
}
