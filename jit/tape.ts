/**
 * The tape: compiled steps (fused loops, matmuls), host steps, random draws
 * and eager fallbacks over planned buffers, and its replay, which binds the
 * arguments and parameters, runs the steps and writes the results back into
 * the real Variables.
 * @module
 */
import { ARRAY_KERNELS } from "../core/dispatch.ts";
import { allocate } from "../core/array/alloc.ts";
import { dtypeOf, type TypedArray } from "../core/array/dtype.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { sameShape, sizeOf } from "../core/array/shape_rules.ts";
import { backend } from "../core/backend/mod.ts";
import { Variable } from "../core/autograd/variable.ts";
import { gatherSource } from "./codegen/gather.ts";
import { loopSource } from "./codegen/loop.ts";
import { matmulSource } from "./codegen/matmul.ts";
import { type KernelSource, word } from "./codegen/source.ts";
import { constantScalar, type Graph, liveOuts, type Node, type Result, type Source } from "./ir.ts";
import { dce } from "./passes/dce.ts";
import { fold } from "./passes/fold.ts";
import { fuse } from "./passes/fusion.ts";
import { type BufferPlan, plan } from "./passes/plan.ts";

/** Counters describing a compiled tape. */
export interface TapeStats {
  /** Compiled kernels (fused loops and matmuls). */
  kernels: number;
  /** Primitive calls folded into those kernels. */
  fusedOps: number;
  /** Steps run by the eager kernel. */
  fallbacks: number;
  /** Op names of those steps. */
  fallbackOps: string[];
}

/** A compiled, replayable trace. */
export interface Tape {
  /** Runs the tape on new arguments; returns what `fn` would have returned. */
  replay(args: unknown[]): unknown;
  /** The generated JavaScript, for reading. */
  source: string;
  /** Kernel and fallback counts. */
  stats: TapeStats;
  /**
   * Whether this call's state invalidates the tape: a constant baked into the
   * code changed in place, a gradient the program depends on appeared or went,
   * or a parameter's array changed shape or dtype.
   */
  stale(args: unknown[]): boolean;
}

let tapes = 0; // numbers each driver's source, so no two share V8 type feedback

/** Compiles a traced graph into a tape. */
export function compileTape(traced: Graph): Tape {
  const g = dce(fold(traced));
  const fused = fuse(g);
  const bp: BufferPlan = plan(g, fused);
  const B: TypedArray[] = bp.slots.map((s) =>
    s.kind === "bound" ? allocate(s.dtype, 0) : allocate(s.dtype, s.size)
  );
  const wrap = (v: number) => {
    const x = g.values[v];
    return new NDArray(allocate(x.dtype, sizeOf(x.shape)), x.shape);
  };
  const slotIndex = (v: number) => {
    const s = bp.slotOf.get(v);
    if (s === undefined) throw new Error(`jit: value ${v} has no buffer`);
    return s;
  };
  const slotName = (v: number) => bp.slots[slotIndex(v)].name;
  const byName = new Map(bp.slots.map((s, i) => [s.name, i]));
  // the replay is one generated driver calling each step with its buffers;
  // kernels, host closures and scratch arrays are its closure constants
  const names: string[] = [];
  const values: unknown[] = [];
  const constant = (name: string, value: unknown) => {
    names.push(name);
    values.push(value);
    return name;
  };
  const calls: string[] = [];
  const src: string[] = [];
  const stats: TapeStats = { kernels: 0, fusedOps: 0, fallbacks: 0, fallbackOps: [] };
  const host = (fn: () => void) => calls.push(`${constant(`h${calls.length}`, fn)}();`);
  /** Emits a generated kernel: a call in the driver and its source. */
  const emit = (k: KernelSource, matmul: boolean, fused: number) => {
    const params = [...(k.names ?? k.params)];
    const slots = k.params.filter((p) => p !== "scratch").map((p) => byName.get(p)!);
    const args = slots.map((i) => `B[${i}]`);
    const types = slots.map((i) => bp.slots[i].dtype as string);
    const id = stats.kernels++;
    if (k.scratch > 0) {
      args.push(constant(`x${id}`, new Float64Array(k.scratch)));
      types.push("float64");
    }
    if (matmul) {
      params.push("gemm");
      args.push("gemm");
    }
    calls.push(
      `${constant(`k${id}`, backend.compileKernel(params, k.body, types))}(${args.join(", ")});`,
    );
    src.push(`function k${id}(${params.join(", ")}) {\n${k.body}\n}`);
    src.push(`k${id}(${[...k.params, ...(matmul ? ["gemm"] : [])].join(", ")});`);
    stats.fusedOps += fused;
  };
  /** Emits a node without a generator: a host step, a random draw or an eager fallback. */
  const hostStep = (n: Node) => {
    if (n.op === "$effect") {
      host(n.fn!);
      src.push(`host.effect();`);
    } else if (n.op === "$scalar") {
      const source = g.values[n.out].source;
      if (source?.kind !== "scalar") throw new Error("jit: bad host scalar");
      const i = slotIndex(n.out);
      const fn = source.fn;
      host(() => (B[i][0] = fn()));
      src.push(`${bp.slots[i].name}[0] = host.scalar();`);
    } else if (n.op === "random") {
      const i = slotIndex(n.out);
      const kind = n.attrs.kind as "uniform" | "normal";
      host(() => backend.random(kind, B[i]));
      src.push(`random.${kind === "normal" ? "normal" : "uniform"}(${bp.slots[i].name});`);
    } else {
      const kernel = ARRAY_KERNELS[n.op];
      const ins = n.inputs.map(slotIndex);
      const xs = n.inputs.map(wrap);
      const o = slotIndex(n.out);
      const out = wrap(n.out);
      const inPlace = g.values[n.out].target !== undefined;
      const { attrs } = n;
      host(() => {
        for (let k = 0; k < ins.length; k++) xs[k].raw = B[ins[k]];
        out.raw = B[o];
        const r = kernel(xs, attrs, inPlace ? out : undefined);
        if (r.raw !== B[o]) B[o].set(r.raw);
      });
      stats.fallbacks++;
      stats.fallbackOps.push(n.op);
      src.push(
        `eager.${word(n.op)}(${n.inputs.map(slotName).join(", ")}) -> ${slotName(n.out)};`,
      );
    }
  };
  for (const step of fused.steps) {
    if (step.kind === "loop") emit(loopSource(g, step, slotName), false, step.nodes.length);
    else if (step.kind === "matmul") emit(matmulSource(g, step, slotName), true, 1);
    else {
      const k = gatherSource(g, step.node, slotName);
      if (k === null) hostStep(step.node);
      else emit(k, false, 1);
    }
  }
  const driver = new Function(
    ...names,
    "gemm",
    `"use strict";\nreturn function replay(B) {\n// tape ${++tapes}\n${calls.join("\n")}\n};`,
  )(...values, backend.gemm) as (b: TypedArray[]) => void;
  // bound slots some step, result or writeback reads (a source fn never used is not bound)
  const used = new Set([...g.nodes.flatMap((n) => n.inputs), ...liveOuts(g)]);
  const bound = bp.slots.flatMap((s, i) => (s.kind === "bound" && used.has(s.value!) ? [i] : []));
  const pinned = new Set(bp.slots.flatMap((s, i) => (s.kind === "pinned" ? [B[i]] : [])));
  const scratch = bound.map((i) => allocate(bp.slots[i].dtype, bp.slots[i].size));
  const views = new Map<number, NDArray>();
  const view = (v: number) => {
    if (bp.slots[slotIndex(v)].kind === "bound") {
      return new NDArray(B[slotIndex(v)], g.values[v].shape);
    }
    let x = views.get(v);
    if (!x) {
      x = new NDArray(B[slotIndex(v)], g.values[v].shape);
      views.set(v, x);
    }
    return x;
  };
  const fresh = (v: number) => {
    const b = B[slotIndex(v)];
    const copy = allocate(dtypeOf(b), b.length);
    copy.set(b);
    return new NDArray(copy, g.values[v].shape);
  };
  const mirror = (r: Result): unknown => {
    switch (r.kind) {
      case "variable":
        return new Variable(fresh(r.value));
      case "array":
        return fresh(r.value);
      case "number":
        return r.value;
      case "none":
        return undefined;
      case "list":
        return r.items.map(mirror);
    }
  };
  /** The array a bound source refers to on this call (null: a gradient that is gone). */
  const sourceArray = (s: Source, args: unknown[]): NDArray | null => {
    switch (s.kind) {
      case "arg": {
        const a = args[s.index];
        return a instanceof Variable ? a.data : a as NDArray;
      }
      case "var":
        return s.variable.data;
      case "grad": {
        const v = s.arg === undefined ? s.variable : args[s.arg] as Variable;
        return v.grad?.data ?? null;
      }
      default:
        return s.array;
    }
  };
  const sources = bound.map((i) => g.values[bp.slots[i].value!].source!);
  const bind = (args: unknown[]) => {
    for (let k = 0; k < bound.length; k++) {
      let raw = sourceArray(sources[k], args)!.raw;
      if (pinned.has(raw)) {
        scratch[k].set(raw);
        raw = scratch[k];
      }
      B[bound[k]] = raw;
    }
  };
  /** The Variable a writeback or guard names on this call. */
  const target = (w: { variable: Variable; arg?: number }, args: unknown[]) =>
    w.arg === undefined ? w.variable : args[w.arg] as Variable;
  const header = bp.slots.filter((s) => s.kind !== "bound").map((s) =>
    `const ${s.name} = new ${
      s.dtype === "float32" ? "Float32" : s.dtype === "float64" ? "Float64" : "Int32"
    }Array(${s.size}); // ${s.kind}`
  );
  const baked = g.values.flatMap((v) => {
    const c = constantScalar(g, v.id);
    return c === undefined || v.source?.kind !== "const" ? [] : [{ array: v.source.array, c }];
  });
  return {
    source: [...header, ...src].join("\n"),
    stats,
    stale(args) {
      if (baked.some((b) => !Object.is(b.array.raw[0], b.c))) return true;
      for (const guard of g.guards) {
        if ((target(guard, args).grad !== null) !== guard.present) return true;
      }
      return bound.some((i, k) => {
        const a = sourceArray(sources[k], args);
        return a === null || a.dtype !== bp.slots[i].dtype ||
          !sameShape(a.shape, g.values[bp.slots[i].value!].shape);
      });
    },
    replay(args) {
      bind(args);
      driver(B);
      for (const w of g.writebacks) {
        const v = target(w, args);
        if (w.field === "data") v.data = w.value === null ? v.data : view(w.value);
        else v.grad = w.value === null ? null : new Variable(view(w.value));
      }
      return mirror(g.result);
    },
  };
}
