/**
 * The tape's module text: one function `tape<hash>(rt, host)` that declares the
 * tape's buffers, its WebAssembly loops and its kernels (each headed by a
 * comment naming what it computes and the F functions and layers it came
 * from), and returns `replay`, which runs the steps in order. The JIT runs
 * exactly this text; `step.source()` shows it as an ES module.
 * @module
 */
import { backend } from "../../core/backend/mod.ts";
import { type Graph, liveOuts, type Node } from "../ir.ts";
import type { Fused, Step } from "../passes/fusion.ts";
import type { BufferPlan, Slot } from "../passes/plan.ts";
import { argmaxSource } from "./argmax.ts";
import { checkSource, gatherSource } from "./gather.ts";
import { loopSource } from "./loop.ts";
import { keptOperands, matmulSource } from "./matmul.ts";
import { comment, indent, type KernelSource, word } from "./source.ts";

/** A step the text calls through `host`: a host scalar or effect, or an eager fallback. */
export interface HostStep {
  /** Its name in `host`. */
  name: string;
  /** The node it runs. */
  node: Node;
}

/** Counters describing a compiled tape. */
export interface TapeStats {
  /** Compiled kernels (fused loops, matmuls, gathers). */
  kernels: number;
  /** Primitive calls folded into those kernels. */
  fusedOps: number;
  /** Steps run by the eager kernel. */
  fallbacks: number;
  /** Op names of those steps. */
  fallbackOps: string[];
}

/** The module text of a tape and what it expects from its caller. */
export interface Driver {
  /**
   * The tape's name (its function is `tape<id>`): a hash of its code, so the
   * same program compiles to the same text. V8 keeps every distinct text it
   * compiled, so a tape retraced again and again (LRU eviction, new number
   * arguments) must not get a new text each time.
   */
  id: string;
  /** `function tape<id>(rt, host) { ... }`: returns `{ replay(B), buffers }`. */
  text: string;
  /** Slots `replay(B)` takes, in order (`B[k]`): arguments, parameters, gradients. */
  perCall: number[];
  /** Slots `host` provides by name: the arrays the function read from its closure. */
  constants: number[];
  /** The steps `host` provides by name. */
  hostSteps: HostStep[];
  /** The names the text reads from `rt`. */
  runtime: string[];
  /** Kernel and fallback counts. */
  stats: TapeStats;
}

/** Where each slot's array comes from. */
function slotRole(g: Graph, s: Slot): "perCall" | "constant" | "owned" {
  if (s.kind !== "bound") return "owned";
  const kind = g.values[s.value!].source!.kind;
  return kind === "const" ? "constant" : kind === "scalar" ? "owned" : "perCall";
}

const TYPED = { float32: "Float32Array", float64: "Float64Array", int32: "Int32Array" } as const;

/** The scopes (F functions, layers) of `nodes`, each once, for a kernel's header. */
function origins(nodes: Node[]): string[] {
  return [...new Set(nodes.map((n) => n.scope ?? "").filter(Boolean))].map(comment);
}

/** The nodes a step computes. */
function stepNodes(s: Step): Node[] {
  return s.kind === "loop" ? [...s.nodes, ...s.epilogue] : [s.node];
}

/**
 * `body` with each identifier of `from` replaced by the one at its index in
 * `to`, and its values (`v` + a value id) renumbered in order of appearance,
 * so that the same loop over other buffers has the same text.
 */
function renamed(body: string, from: string[], to: string[]): string {
  const index = new Map(from.map((name, i) => [name, i]));
  const values = new Map<string, string>();
  const words = new RegExp(`\\b(${[...from, "v\\d+"].join("|")})\\b`, "g");
  return body.replace(words, (w) => {
    const i = index.get(w);
    if (i !== undefined) return to[i];
    if (!values.has(w)) values.set(w, `v${values.size}`);
    return values.get(w)!;
  });
}

/**
 * Builds the module text of a compiled graph, named by a hash of its code. With
 * `wasm` false the text calls no WebAssembly (no vector kernels, no
 * WebAssembly loops), as where WebAssembly is missing: same results.
 */
export function driverText(
  g: Graph,
  fused: Fused,
  bp: BufferPlan,
  wasm = true,
): Driver {
  const name = (v: number) => bp.slots[bp.slotOf.get(v)!].name;
  const decls: string[] = [], kernels: string[] = [], calls: string[] = [];
  const hostSteps: HostStep[] = [];
  const stats: TapeStats = { kernels: 0, fusedOps: 0, fallbacks: 0, fallbackOps: [] };
  // a module or kernel whose text repeats (the steps of an unrolled loop over
  // time) is emitted once and called at each place: V8 then warms up and
  // optimises one function instead of one per repetition
  const segments = new Map<string, string>();
  const declareWasm = (module: Uint8Array) => {
    const base64 = btoa(String.fromCharCode(...module));
    let seg = segments.get(base64);
    if (seg === undefined) {
      segments.set(base64, seg = `seg${segments.size}`);
      decls.push(`const ${seg} = wasmLoop("${base64}");`);
    }
    return seg;
  };
  const shared = new Map<string, string>(); // parameters and body -> kernel name
  const kernel = (k: KernelSource, step: Step) => {
    const args = [...k.args];
    // loops name their buffers by slot: as parameters they become b0, b1...
    const params = k.names ? [...k.names] : k.args.map((_, i) => `b${i}`);
    const body = k.names ? k.body : renamed(k.body, k.args, params);
    if (k.scratch > 0) {
      const scratch = `scratch${calls.length}`;
      decls.push(`const ${scratch} = new Float64Array(${k.scratch});`);
      args.push(scratch);
      params.push("scratch");
    }
    const text = `(${params.join(", ")}) {\n${body}\n}`;
    let kn = shared.get(text);
    if (kn === undefined) {
      shared.set(text, kn = `k${stats.kernels++}`);
      const from = origins(stepNodes(step)).map((o) => `\n//   from ${o}`).join("");
      kernels.push(`// ${kn}: ${comment(k.title)}${from}\nfunction ${kn}${text}`);
    }
    calls.push(`${kn}(${args.join(", ")});`);
    stats.fusedOps += stepNodes(step).length;
  };
  const host = (n: Node, prefix: string) => {
    const h = `${prefix}${hostSteps.length}`;
    hostSteps.push({ name: h, node: n });
    return h;
  };
  const products = fused.steps.filter((s) => s.kind === "matmul");
  const keep = keptOperands(g, products);
  const keepOf = new Map(products.map((s, i) => [s, keep[i]]));
  // a tape whose products keep packs starts and ends (even by an exception) a gemm epoch: a
  // replay run inside it (by a host step) then leaves no pack that its later products, naming
  // the same index, would read
  const keeps = keep.some((k) => k >= 0);
  for (const step of fused.steps) {
    if (step.kind === "loop") kernel(loopSource(g, step, name, wasm ? declareWasm : null), step);
    else if (step.kind === "matmul") {
      kernel(matmulSource(g, step, name, keepOf.get(step)), step);
    } else {
      const n = step.node;
      const k = gatherSource(g, n, name) ?? checkSource(g, n, name) ?? argmaxSource(g, n, name);
      if (k !== null) kernel(k, step);
      else if (n.op === "$effect") calls.push(`${host(n, "effect")}();`);
      else if (n.op === "$scalar") calls.push(`${name(n.out)}[0] = ${host(n, "scalar")}();`);
      else if (n.op === "random") {
        calls.push(
          `random(${JSON.stringify(n.attrs.kind === "normal" ? "normal" : "uniform")}, ${
            name(n.out)
          });`,
        );
      } else {
        stats.fallbacks++;
        stats.fallbackOps.push(n.op);
        const fb = host(n, `eager_${word(n.op)}_`);
        calls.push(
          `${fb}(${[...n.inputs, n.out].map(name).join(", ")}); // no kernel for ${
            word(n.op)
          }: the eager one`,
        );
      }
    }
  }
  // bound slots that a step, a result or a writeback reads
  const needed = new Set([...g.nodes.flatMap((n) => n.inputs), ...liveOuts(g)]);
  const named = new Set(calls.join("\n").match(/\w+/g));
  const perCall: number[] = [], constants: number[] = [];
  bp.slots.forEach((s, i) => {
    const role = slotRole(g, s);
    if (role === "owned") decls.push(`const ${s.name} = new ${TYPED[s.dtype]}(${s.size});`);
    else if (role === "perCall" && needed.has(s.value!)) perCall.push(i);
    else if (role === "constant" && named.has(s.name)) constants.push(i);
  });
  const steps = keeps
    ? ["gemmEpoch();", "try {", ...calls, "} finally {", "gemmEpoch();", "}"]
    : calls;
  const code = [...decls, ...kernels, ...steps].join("\n");
  const rtNames = Object.keys(backend.runtime).filter((k) => new RegExp(`\\b${k}\\b`).test(code));
  const hostNames = [...constants.map((i) => bp.slots[i].name), ...hostSteps.map((h) => h.name)];
  const owned = bp.slots.filter((s) => slotRole(g, s) === "owned").map((s) => s.name);
  const id = fnv1a([code, ...rtNames, ...hostNames, ...perCall].join("\n"));
  const text = [
    `function tape${id}(rt, host) {`,
    `"use strict";`,
    rtNames.length ? `const { ${rtNames.join(", ")} } = rt;` : "",
    hostNames.length ? `const { ${hostNames.join(", ")} } = host;` : "",
    ...decls,
    ...kernels,
    `// the steps, in order; B holds this call's arguments, parameters and gradients`,
    `function replay(B) {`,
    ...perCall.flatMap((i, k) =>
      named.has(bp.slots[i].name) ? [`const ${bp.slots[i].name} = B[${k}];`] : []
    ),
    ...steps,
    `}`,
    `return { replay, buffers: { ${owned.join(", ")} } };`,
    `}`,
  ].filter(Boolean).join("\n");
  return { id, text: indent(text), perCall, constants, hostSteps, runtime: rtNames, stats };
}

/** The 32-bit FNV-1a hash of `s`'s UTF-16 code units, as 8 hex digits. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
