/**
 * A worker of the pool (core/backend/pool.ts): instantiates each module it
 * is given over its shared memory, then, for every job the control block
 * announces, runs the job's export over the ranges it takes until none is
 * left, leaves an error's text in its slot, and counts itself done.
 * Modules registered after it started arrive on its port, read
 * synchronously before each job. The first worker starts the others.
 * @module
 */
import { receiveMessageOnPort, SHARE_ENV, Worker, workerData } from "node:worker_threads";
import {
  callRange,
  LAYOUT,
  memoryImports,
  type ModuleMessage,
  WAIT_SLICE_MS,
  type WorkerInit,
} from "./pool.ts";

const { SEQ, PENDING, READY, NEXT, MODULE, EXPORT, ARGC, TOTAL, GRAIN, WORKERS } = LAYOUT;
const { SLOTS, SLOT, ARGS_AT, ERR_AT, ERR_BYTES, MAX_ARGS } = LAYOUT;
const init = workerData as WorkerInit;
const port = init.port;
const ctl = new Int32Array(init.control, 0, ARGS_AT / 4);
const args = new Float64Array(init.control, ARGS_AT, MAX_ARGS);
const err = new Uint8Array(init.control, ERR_AT + ERR_BYTES * init.index, ERR_BYTES);
const slot = SLOTS + SLOT * init.index;
/** Each module's exported functions, in the module's export order. */
const functions: ((...a: number[]) => unknown)[][] = [];

/** Instantiates a module over its memory. */
function add({ id, module, memory }: ModuleMessage): void {
  const exports = new WebAssembly.Instance(module, memoryImports(module, memory)).exports;
  functions[id] = WebAssembly.Module.exports(module).map((e) =>
    exports[e.name] as (...a: number[]) => unknown
  );
}

/** Runs ranges of the current job until none is left; returns an error's text ("" when none). */
function runJob(): string {
  try {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      add(m.message as ModuleMessage);
    }
    const id = ctl[MODULE], fn = functions[id]?.[ctl[EXPORT]];
    if (fn === undefined) return `module ${id} has no function ${ctl[EXPORT]} here`;
    const a = args.subarray(0, ctl[ARGC]), total = ctl[TOTAL], grain = ctl[GRAIN];
    for (let from = Atomics.add(ctl, NEXT, 1) * grain; from < total;) {
      callRange(fn, a, from, Math.min(total, from + grain));
      ctl[slot + 1]++;
      from = Atomics.add(ctl, NEXT, 1) * grain;
    }
    return "";
  } catch (e) {
    return String(e) || "an empty error";
  }
}

for (const child of init.spawn) {
  new Worker(new URL(import.meta.url), {
    workerData: child,
    transferList: [child.port],
    env: SHARE_ENV,
  })
    .unref();
}
init.modules.forEach(add);
let seq = Atomics.load(ctl, SEQ);
Atomics.add(ctl, READY, 1);
for (;;) {
  Atomics.wait(ctl, SEQ, seq, WAIT_SLICE_MS); // in slices: a lost wake-up costs one
  const next = Atomics.load(ctl, SEQ);
  if (next === seq) continue;
  seq = next;
  if (init.index < ctl[WORKERS]) {
    const text = runJob();
    const length = Math.min(text.length, ERR_BYTES);
    for (let i = 0; i < length; i++) err[i] = text.charCodeAt(i) & 0x7f;
    ctl[slot] = length;
  }
  if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING);
}
