/**
 * Tracing: runs a function eagerly with a tracer installed in the dispatcher
 * and records every kernel call into a Graph (jit/ir.ts).
 * @module
 */
import { type Attrs, setTracer, type Tracer } from "../core/hooks.ts";
import { NDArray } from "../core/array/ndarray.ts";
import type { OpName } from "../core/registry.ts";
import { Parameter, Variable } from "../core/autograd/variable.ts";
import type { GradGuard, Graph, Node, Result, Source, Value, Writeback } from "./ir.ts";

/** The outcome of a trace: the graph, fn's real result, and whether JS read values. */
export interface TraceResult<R> {
  /** The recorded program. */
  graph: Graph;
  /** What `fn` returned on this eager run. */
  returned: R;
  /** True when `fn` read array values on the JS side (not compilable). */
  valueDependent: boolean;
  /**
   * True when a Parameter was first used with data this trace computed (a
   * lazily initialised layer drawing its weights): replaying would redraw
   * them, so the next call should trace again.
   */
  initializes: boolean;
}

class Recorder implements Tracer {
  readonly values: Value[] = [];
  readonly nodes: Node[] = [];
  readonly ids = new Map<NDArray, number>();
  readonly tracked = new Map<Variable, NDArray | null>(); // Variable -> grad array at first sight
  readonly args = new Map<Variable, number>(); // argument Variable -> its index
  readonly clearedSet = new Set<Variable>(); // Variables whose gradient fn cleared
  readValues = false;
  initializes = false;
  /** The open scopes, outermost first: labels, and the layer that opened each (or null). */
  readonly scopes: { label: string; owner: object | null }[] = [];
  /** The scope path of the nodes recorded now ("" outside any scope). */
  scope = "";

  source(x: NDArray, source: Source): number {
    const id = this.values.length;
    this.values.push({ id, shape: [...x.shape], dtype: x.dtype, source });
    this.ids.set(x, id);
    return id;
  }

  idOf(x: NDArray): number {
    return this.ids.get(x) ?? this.source(x, { kind: "const", array: x });
  }

  track(v: Variable): void {
    if (this.tracked.has(v)) return;
    const g = v.grad?.data ?? null;
    this.tracked.set(v, g);
    const d = this.ids.get(v.data);
    if (d === undefined) this.source(v.data, { kind: "var", variable: v });
    else if (this.values[d].source === undefined) this.initializes = true;
    if (g !== null && !this.ids.has(g)) this.source(g, this.gradSource(v));
  }

  gradSource(v: Variable): Source {
    const arg = this.args.get(v);
    return arg === undefined ? { kind: "grad", variable: v } : { kind: "grad", variable: v, arg };
  }

  record(op: OpName, inputs: NDArray[], attrs: Attrs, out: NDArray): void {
    const ins = inputs.map((x) => this.idOf(x));
    const prev = this.ids.get(out);
    const id = this.values.length;
    const value: Value = { id, shape: [...out.shape], dtype: out.dtype };
    if (prev !== undefined && this.values[prev].source !== undefined) {
      value.target = prev; // an in-place write into a real array
    } else if (prev !== undefined && this.values[prev].target !== undefined) {
      value.target = this.values[prev].target;
    }
    this.values.push(value);
    this.ids.set(out, id);
    this.nodes.push({ op, inputs: ins, attrs: { ...attrs }, out: id, scope: this.scope });
  }

  enter(label: string, owner: object | null): void {
    const parent = this.scopes.findLast((s) => s.owner !== null)?.owner ?? null;
    const field = owner !== null && parent !== null ? fieldPath(parent, owner) : null;
    this.scopes.push({ label: field === null ? label : `${label} ${field}`, owner });
    this.scope = this.scopes.map((s) => s.label).join(" > ");
  }

  exit(): void {
    this.scopes.pop();
    this.scope = this.scopes.map((s) => s.label).join(" > ");
  }

  scalar(fn: () => number, out: NDArray): void {
    const id = this.source(out, { kind: "scalar", array: out, fn });
    this.nodes.push({ op: "$scalar", inputs: [], attrs: {}, out: id });
  }

  effect(fn: () => void): void {
    this.nodes.push({ op: "$effect", inputs: [], attrs: {}, out: -1, fn });
  }

  variable(v: object): void {
    if (v instanceof Parameter) this.track(v);
  }

  cleared(v: object): void {
    if (v instanceof Variable) this.clearedSet.add(v);
  }

  valueRead(): void {
    this.readValues = true;
  }

  mirror(r: unknown): Result {
    if (r instanceof Variable) return { kind: "variable", value: this.idOf(r.data) };
    if (r instanceof NDArray) return { kind: "array", value: this.idOf(r) };
    if (typeof r === "number") return { kind: "number", value: r };
    if (Array.isArray(r)) return { kind: "list", items: r.map((x) => this.mirror(x)) };
    if (r === undefined || r === null) return { kind: "none" };
    throw new TypeError(`jit: cannot mirror a returned ${typeof r}`);
  }

  writebacks(): Writeback[] {
    const out: Writeback[] = [];
    for (const [v] of this.tracked) {
      const arg = this.args.get(v);
      const at = arg === undefined ? {} : { arg };
      const d = this.ids.get(v.data);
      if (d === undefined || this.values[d].source === undefined) {
        out.push({ variable: v, ...at, field: "data", value: this.idOf(v.data) });
      }
      const g = v.grad === null ? null : this.idOf(v.grad.data);
      if (g === null || this.values[g].source?.kind !== "grad") {
        out.push({ variable: v, ...at, field: "grad", value: g });
      }
    }
    return out;
  }

  /** Tracked Variables not cleared during the trace, with their gradient state at first sight. */
  guards(): GradGuard[] {
    const out: GradGuard[] = [];
    for (const [v, g] of this.tracked) {
      if (this.clearedSet.has(v)) continue;
      const arg = this.args.get(v);
      out.push({ variable: v, ...(arg === undefined ? {} : { arg }), present: g !== null });
    }
    return out;
  }
}

/** The field (`l1`, `layers.0`) of `parent` that holds `child`, or null. */
function fieldPath(parent: object, child: object): string | null {
  for (const [name, value] of Object.entries(parent)) {
    if (value === child) return name;
    if (Array.isArray(value)) {
      const i = value.indexOf(child);
      if (i >= 0) return `${name}.${i}`;
    }
  }
  return null;
}

/** Runs `fn(...args)` eagerly while recording its kernel calls. */
export function trace<R>(fn: (...args: unknown[]) => R, args: unknown[]): TraceResult<R> {
  const rec = new Recorder();
  args.forEach((a, index) => {
    const x = a instanceof Variable ? a.data : a instanceof NDArray ? a : null;
    if (x !== null && !rec.ids.has(x)) rec.source(x, { kind: "arg", index });
    if (a instanceof Variable && !rec.args.has(a)) {
      rec.args.set(a, index);
      rec.tracked.set(a, a.grad?.data ?? null);
    }
  });
  for (const [v, g] of rec.tracked) {
    if (g !== null && !rec.ids.has(g)) rec.source(g, rec.gradSource(v));
  }
  const prevTracer = setTracer(rec);
  let returned: R;
  try {
    returned = fn(...args);
  } finally {
    setTracer(prevTracer);
  }
  const graph: Graph = {
    guards: rec.guards(),
    values: rec.values,
    nodes: rec.nodes,
    writebacks: rec.writebacks(),
    result: rec.mirror(returned),
  };
  return { graph, returned, valueDependent: rec.readValues, initializes: rec.initializes };
}
