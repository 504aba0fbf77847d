/**
 * The worker pool: one large kernel split over every core. WebAssembly
 * modules registered here are instantiated once in each worker over the
 * same shared `WebAssembly.Memory`; `runRanges` runs one export over the
 * ranges of an index space, taken by the calling thread and the workers as
 * they come, and returns when all are done. It is synchronous for the
 * caller (the dispatcher is): the job goes into a shared control block,
 * `Atomics.notify` wakes the workers, and the caller `Atomics.wait`s for
 * the last of them.
 *
 * Workers are `node:worker_threads` workers (Deno implements them; their
 * `unref()` lets a script that used them exit by itself, which a web
 * `Worker` would keep alive), started on the first large job: until they
 * are ready, and wherever they cannot run (no `Deno`, no read permission
 * for the worker's file, the library loaded from a URL, no
 * `SharedArrayBuffer` or WebAssembly, one thread asked for), the caller
 * runs every range itself, in order. A range's results never depend on
 * which thread runs it, so neither do a job's.
 * @module
 */
import { nodeBuiltin } from "../builtin.ts";
import { checkInt } from "../validate.ts";

/** The most threads `setThreads` accepts (the control block is sized for them). */
const MAX_THREADS = 256;
/** The environment variable that sets the thread count at start-up. */
const THREADS_ENV = "DEZERO_THREADS";
/** The most numeric arguments a job passes before its range. */
const MAX_ARGS = 12;
/** How long the caller waits for a worker's last range before it gives up on the workers. */
const STALL_MS = 60_000;
/** The longest a thread sleeps in one `Atomics.wait` before it looks at the control block again. */
export const WAIT_SLICE_MS = 100;
/** Bytes of a worker's error message slot. */
const ERR_BYTES = 240;

// the control block, as int32: the job's fields, then per worker [error length, ranges run];
// then the job's arguments (float64) and each worker's error text
const SEQ = 0, PENDING = 1, READY = 2, NEXT = 3, MODULE = 4, EXPORT = 5, ARGC = 6, TOTAL = 7;
const GRAIN = 8, WORKERS = 9, SLOTS = 10, SLOT = 2;
const ARGS_AT = 8 * Math.ceil((SLOTS + SLOT * MAX_THREADS) / 2);
const ERR_AT = ARGS_AT + 8 * MAX_ARGS;
const CONTROL_BYTES = ERR_AT + ERR_BYTES * MAX_THREADS;

/** The worker script. */
const WORKER_URL = new URL("./pool_worker.ts", import.meta.url);

/** A module instantiated on the caller and in every worker, over one memory. */
export interface PoolModule {
  /** Its number in the pool. */
  readonly id: number;
  /** The calling thread's instance's exports. */
  readonly exports: WebAssembly.Exports;
  /** Its exported names, in the module's order (a job names an export by index). */
  readonly names: readonly string[];
  /** Whether its memory is shared, so that its jobs can run on the workers. */
  readonly shared: boolean;
}

/** What a worker receives for each module, at start or when registered. */
export interface ModuleMessage {
  /** The module's number. */
  id: number;
  /** The compiled module. */
  module: WebAssembly.Module;
  /** The shared memory it imports. */
  memory: WebAssembly.Memory;
}

/** node:worker_threads' types (the module itself is loaded only where workers start). */
type NodeThreads = typeof import("node:worker_threads");

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  /** The control block. */
  control: SharedArrayBuffer;
  /** The worker's number (its slot in the control block). */
  index: number;
  /** The port later modules arrive on. */
  port: NodeThreads["MessagePort"]["prototype"];
  /** The modules registered before the worker started. */
  modules: ModuleMessage[];
  /** The workers this one starts (sparing the caller all but one worker's start-up). */
  spawn: WorkerInit[];
}

/** Offsets of the control block's parts, for the worker script. */
export const LAYOUT = Object.freeze({
  SEQ,
  PENDING,
  READY,
  NEXT,
  MODULE,
  EXPORT,
  ARGC,
  TOTAL,
  GRAIN,
  WORKERS,
  SLOTS,
  SLOT,
  ARGS_AT,
  ERR_AT,
  ERR_BYTES,
  MAX_ARGS,
});

let threads = 0; // 0: not decided yet (the env variable is read on first use)
let failed = false;
let jobs = 0;
/** Each started worker's port, which carries modules to it. */
const ports: { postMessage(m: unknown): void }[] = [];
const modules: ModuleMessage[] = [];
let control: SharedArrayBuffer | null = null;
let ctl: Int32Array, args: Float64Array, err: Uint8Array;

/**
 * Sets how many threads large kernels use, the calling thread included
 * (`1`: no worker; default `navigator.hardwareConcurrency`, or the
 * `DEZERO_THREADS` environment variable where Deno may read it). Results do
 * not depend on it: every split kernel gives the same bits on any number of
 * threads.
 *
 * @param n an integer from 1 to 256
 * @throws {RangeError | TypeError} when `n` is not such an integer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const before = dz.getThreads();
 * dz.setThreads(1); // no worker is started
 * assert.equal(dz.getThreads(), 1);
 * assert.throws(() => dz.setThreads(0), /setThreads: n must be a positive integer, got 0/);
 * dz.setThreads(before);
 * ```
 */
export function setThreads(n: number): void {
  threads = checkInt(n, "setThreads", "n", 1, MAX_THREADS);
}

/**
 * How many threads large kernels use (see `setThreads`).
 *
 * @returns the thread count, the calling thread included
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.ok(dz.getThreads() >= 1);
 * ```
 */
export function getThreads(): number {
  if (threads === 0) threads = envThreads() ?? defaultThreads();
  return threads;
}

/** `navigator.hardwareConcurrency` within [1, MAX_THREADS] (1 where unknown). */
function defaultThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_THREADS) : 1;
}

/** Minimal view of Deno's API the pool reads (absent outside Deno). */
interface DenoLike {
  permissions: { querySync(d: { name: string; variable?: string; path?: URL }): { state: string } };
  env: { get(key: string): string | undefined };
  statSync(path: URL): unknown;
}
const DENO = (globalThis as { Deno?: DenoLike }).Deno;

/** Whether Deno grants `desc` without asking (a query never prompts). */
function granted(desc: { name: string; variable?: string; path?: URL }): boolean {
  try {
    return DENO?.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/** `DEZERO_THREADS` where set and readable; a bad value is ignored with a warning. */
function envThreads(): number | null {
  if (!granted({ name: "env", variable: THREADS_ENV })) return null;
  const text = DENO!.env.get(THREADS_ENV);
  if (text === undefined) return null;
  const n = Number(text);
  if (text.trim() !== "" && Number.isInteger(n) && n >= 1 && n <= MAX_THREADS) return n;
  console.warn(`${THREADS_ENV}: expected an integer from 1 to ${MAX_THREADS}, got '${text}'`);
  return null;
}

/**
 * Whether workers can run here at all: the worker script must be a file
 * Deno may read (not so in the browser bundle, an exported module, or the
 * library imported from a URL).
 */
function supported(): boolean {
  if (
    typeof SharedArrayBuffer !== "function" || typeof Atomics !== "object" ||
    typeof WebAssembly !== "object" || WORKER_URL.protocol !== "file:" ||
    !granted({ name: "read", path: WORKER_URL })
  ) return false;
  try {
    DENO!.statSync(WORKER_URL);
    return true;
  } catch {
    return false;
  }
}

/**
 * How many threads a large job can run on now, the caller included: the
 * thread count once the workers are ready, else 1. The first call that
 * could use workers starts them (it returns 1: they boot on their own
 * threads, ready a few ms after it returns).
 */
export function parallelism(): number {
  const n = getThreads();
  if (n === 1 || failed) return 1;
  if (ports.length < n - 1) start(n - 1);
  const ready = control === null ? 0 : Atomics.load(ctl, READY);
  return ready === ports.length ? Math.min(n, ready + 1) : 1;
}

/**
 * The workers started so far (0 in a process that never ran a large job),
 * the jobs handed to them and the ranges they ran.
 */
export function poolStats(): { workers: number; jobs: number; workerRanges: number } {
  let workerRanges = 0;
  for (let w = 0; w < ports.length; w++) workerRanges += ctl[SLOTS + w * SLOT + 1];
  return { workers: ports.length, jobs, workerRanges };
}

/**
 * Starts workers up to `count`: the caller starts the first (creating a
 * worker blocks its creator for 55-70 ms on the idle 2-core machine), which
 * starts the others. They boot on their own threads while the caller goes
 * on (alone until they are ready); unref'd, they do not keep the process
 * alive.
 */
function start(count: number): void {
  const threads = supported() ? nodeBuiltin<NodeThreads>("node:worker_threads") : null;
  if (threads === null) {
    failed = true;
    return;
  }
  if (control === null) {
    control = new SharedArrayBuffer(CONTROL_BYTES);
    ctl = new Int32Array(control, 0, ARGS_AT / 4);
    args = new Float64Array(control, ARGS_AT, MAX_ARGS);
    err = new Uint8Array(control, ERR_AT, ERR_BYTES * MAX_THREADS);
  }
  try {
    const inits: WorkerInit[] = [];
    const shared = modules.filter((m) => m.memory.buffer instanceof SharedArrayBuffer);
    while (ports.length < count) {
      const { port1, port2 } = new threads.MessageChannel();
      port1.unref();
      inits.push({ control, index: ports.length, port: port2, modules: shared, spawn: [] });
      ports.push(port1);
    }
    const [first, ...others] = inits;
    first.spawn = others;
    const transferList = inits.map((i) => i.port);
    const worker = new threads.Worker(WORKER_URL, {
      workerData: first,
      transferList,
      env: threads.SHARE_ENV,
    });
    worker.on("error", () => failed = true);
    worker.unref();
  } catch {
    failed = true;
  }
}

/** The imports of a module whose one import is a memory: that memory, under the module's names. */
export function memoryImports(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.Memory>> = {};
  for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = memory;
  return imports;
}

/**
 * Instantiates `module`, whose one import is a memory, over `memory` on the
 * calling thread, and in every worker, started or to come, when `memory`
 * is shared.
 */
export function registerModule(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): PoolModule {
  const id = modules.length;
  const instance = new WebAssembly.Instance(module, memoryImports(module, memory));
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  const mod: PoolModule = Object.freeze({ id, exports: instance.exports, names, shared });
  const message: ModuleMessage = { id, module, memory };
  modules.push(message);
  if (shared) { for (const port of ports) port.postMessage(message); }
  return mod;
}

/**
 * Runs `name(...args, from, to)` of `mod` over the ranges [from, to) that
 * cut [0, total) every `grain`: the calling thread and the ready workers
 * (see `parallelism`) each take the next range left until none is, so a
 * thread the system holds up takes fewer. The ranges' results must not
 * depend on which thread runs them. Returns when all have run; throws,
 * after all have, the first error one raised (a worker's trap reported with
 * the worker's number, its other ranges left to the others). The pool stays
 * usable after an error.
 */
export function runRanges(
  mod: PoolModule,
  name: string,
  args: readonly number[],
  total: number,
  grain: number,
): void {
  const fn = mod.exports[name] as (...a: number[]) => unknown;
  const workers = mod.shared && total > grain ? parallelism() - 1 : 0;
  if (workers > 0) post(mod, name, args, total, grain, workers);
  let error: unknown = null;
  for (let from = 0; from < total;) {
    if (workers > 0) from = Atomics.add(ctl, NEXT, 1) * grain;
    if (from >= total) break;
    try {
      callRange(fn, args, from, Math.min(total, from + grain));
    } catch (e) {
      error ??= e;
      if (workers > 0) break; // the workers run the rest
    }
    if (workers === 0) from += grain;
  }
  const workerError = workers > 0 ? collect(name) : null; // waits whatever happened here
  if (error !== null || workerError !== null) throw error ?? workerError;
}

/** Argument lists by length, reused: a call allocates nothing. */
const lists: number[][] = [];

/** `fn(...args, from, to)` through a reused argument list. */
export function callRange(
  fn: (...a: number[]) => unknown,
  args: ArrayLike<number>,
  from: number,
  to: number,
): void {
  const n = args.length, list = lists[n] ??= new Array(n + 2).fill(0);
  for (let i = 0; i < n; i++) list[i] = args[i];
  list[n] = from;
  list[n + 1] = to;
  fn.apply(null, list);
}

/** Writes the job into the control block and wakes the workers (the first `workers` take part). */
function post(
  mod: PoolModule,
  name: string,
  a: readonly number[],
  total: number,
  grain: number,
  workers: number,
) {
  if (a.length > MAX_ARGS) throw new RangeError(`runRanges: at most ${MAX_ARGS} arguments`);
  ctl[MODULE] = mod.id;
  ctl[EXPORT] = mod.names.indexOf(name);
  ctl[ARGC] = a.length;
  ctl[TOTAL] = total;
  ctl[GRAIN] = grain;
  ctl[WORKERS] = workers;
  args.set(a);
  for (let w = 0; w < ports.length; w++) ctl[SLOTS + w * SLOT] = 0;
  jobs++;
  Atomics.store(ctl, NEXT, 0);
  Atomics.store(ctl, PENDING, ports.length);
  Atomics.add(ctl, SEQ, 1);
  Atomics.notify(ctl, SEQ);
}

/**
 * Waits until every worker is done; the first worker's error, or null. A
 * worker that does not finish within STALL_MS (one that died) ends the
 * pool's use: this job throws and later ones run on the calling thread.
 */
function collect(name: string): Error | null {
  const end = Date.now() + STALL_MS;
  for (let p = Atomics.load(ctl, PENDING); p !== 0; p = Atomics.load(ctl, PENDING)) {
    // waits in slices: a wake-up lost by the engine costs a slice, not the job
    if (Atomics.wait(ctl, PENDING, p, WAIT_SLICE_MS) === "timed-out" && Date.now() > end) {
      failed = true;
      return new Error(
        `runRanges: ${name}: ${p} of the pool's ${ports.length} workers did not finish in ` +
          `${STALL_MS} ms; later jobs run on the calling thread`,
      );
    }
  }
  for (let w = 0; w < ports.length; w++) {
    const length = ctl[SLOTS + w * SLOT]; // the error message's length, 0 when none
    if (length === 0) continue;
    const text = String.fromCharCode(...err.slice(w * ERR_BYTES, w * ERR_BYTES + length));
    return new Error(`runRanges: ${name} failed in worker ${w}: ${text}`);
  }
  return null;
}
