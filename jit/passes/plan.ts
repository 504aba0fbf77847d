/**
 * Buffer planning: gives every materialised value a slot. Sources are bound
 * at replay; in-place writes use their target's slot; reshapes their base's;
 * results and writebacks get pinned slots; every other value gets a pooled
 * temporary, reused once its last reader has run (liveness by step), so a
 * replay allocates no typed array.
 * @module
 */
import type { DType } from "../../core/array/dtype.ts";
import { sizeOf } from "../../core/array/shape_rules.ts";
import { type Graph, liveOuts } from "../ir.ts";
import type { Fused, Step } from "./fusion.ts";

/** A buffer of the tape. */
export interface Slot {
  /** Identifier used in generated code (made by the JIT only). */
  name: string;
  /** `bound`: a source read at replay; `temp`: pooled; `pinned`: kept for results. */
  kind: "bound" | "temp" | "pinned";
  /** Element type. */
  dtype: DType;
  /** Number of elements. */
  size: number;
  /** For bound slots: the source value. */
  value?: number;
}

/** Slots and the slot of each materialised value. */
export interface BufferPlan {
  slots: Slot[];
  slotOf: Map<number, number>;
}

/** Values each step writes into buffers. */
export function stepOutputs(s: Step): number[] {
  if (s.kind === "loop") return s.stores;
  if (s.kind === "matmul") return [s.out];
  return s.node.out >= 0 ? [s.node.out] : [];
}

/** Values each step reads from buffers. */
export function stepInputs(s: Step): number[] {
  if (s.kind === "loop") {
    const nodes = [...s.nodes, ...s.epilogue];
    const inside = new Set(nodes.map((n) => n.out));
    return nodes.flatMap((n) => n.inputs).filter((u) => !inside.has(u));
  }
  if (s.kind === "matmul") return [s.a, s.b, ...(s.bias === null ? [] : [s.bias])];
  return s.node.inputs;
}

/** Assigns slots to the values of a fused graph. */
export function plan(g: Graph, f: Fused): BufferPlan {
  const slots: Slot[] = [];
  const slotOf = new Map<number, number>();
  const base = (v: number) => f.alias.get(v) ?? v;
  const live = new Set([...liveOuts(g)].map(base));
  const add = (slot: Slot) => slots.push(slot) - 1;
  for (const v of g.values) {
    if (v.source === undefined) continue;
    const prefix =
      { arg: "arg", var: "param", grad: "grad", state: "state", const: "c", scalar: "s" }[
        v.source.kind
      ];
    slotOf.set(
      v.id,
      add({
        name: `${prefix}${slots.length}`,
        kind: "bound",
        dtype: v.dtype,
        size: sizeOf(v.shape),
        value: v.id,
      }),
    );
  }
  const lastUse = new Map<number, number>();
  f.steps.forEach((s, i) => {
    for (const u of stepInputs(s)) lastUse.set(base(u), i);
  });
  const free = new Map<string, number[]>();
  f.steps.forEach((s, i) => {
    for (const v of stepOutputs(s)) {
      if (slotOf.has(v)) continue;
      const val = g.values[v];
      if (val.target !== undefined) {
        slotOf.set(v, slotOf.get(val.target)!);
        continue;
      }
      const size = sizeOf(val.shape);
      if (live.has(v)) {
        slotOf.set(v, add({ name: `out${slots.length}`, kind: "pinned", dtype: val.dtype, size }));
        continue;
      }
      const key = `${val.dtype}:${size}`;
      const reuse = free.get(key)?.pop();
      slotOf.set(
        v,
        reuse ?? add({ name: `t${slots.length}`, kind: "temp", dtype: val.dtype, size }),
      );
    }
    for (const v of [...stepInputs(s), ...stepOutputs(s)]) {
      const b = base(v);
      const slot = slotOf.get(b);
      if (slot === undefined || slots[slot].kind !== "temp") continue;
      if ((lastUse.get(b) ?? -1) <= i && !stillHeld(slotOf, b, slot, lastUse, i, base)) {
        const key = `${slots[slot].dtype}:${slots[slot].size}`;
        const list = free.get(key) ?? [];
        if (!list.includes(slot)) list.push(slot);
        free.set(key, list);
      }
    }
  });
  for (const [v, b] of f.alias) if (slotOf.has(b)) slotOf.set(v, slotOf.get(b)!);
  return { slots, slotOf };
}

/** Whether another value sharing `slot` is still read after step `i`. */
function stillHeld(
  slotOf: Map<number, number>,
  v: number,
  slot: number,
  lastUse: Map<number, number>,
  i: number,
  base: (v: number) => number,
): boolean {
  for (const [w, s] of slotOf) {
    if (s === slot && w !== v && (lastUse.get(base(w)) ?? -1) > i) return true;
  }
  return false;
}
