/**
 * AOT export: a compiled tape as one self-contained ES module that runs
 * without `eval` or `new Function`. The module holds the tape's module text
 * (rebuilt without WebAssembly for `{ wasm: false }`), the runtime names it
 * calls, the harness of jit/standalone.ts, and the state as at export:
 * parameter values by dotted name, their gradients where a call reads them,
 * the arrays the function read from its closure (optimizer moments), the
 * numeric fields of the objects its host rules read (`hyper`: an
 * optimizer's rate, Adam's step count) and, when the tape draws random
 * numbers, the generator's state. esbuild-wasm bundles and minifies it.
 * @module
 */
import type { Variable } from "../core/autograd/variable.ts";
import { rngState, RUNTIME_MODULES } from "../core/backend/mod.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import { RAW } from "../core/array/ndarray.ts";
import type { HostRule } from "../core/hooks.ts";
import { type Driver, driverText } from "./codegen/driver.ts";
import { num, word } from "./codegen/source.ts";
import { bundle } from "./esbuild.ts";
import type { Graph, Result } from "./ir.ts";
import type { ArgSpec, ExportSpec, Ref, ResultSpec, StoredArray } from "./standalone.ts";
import { store } from "./standalone.ts";
import { sourceOf, type Tape } from "./tape.ts";

/** Options of `step.export()`. */
export interface ExportOptions {
  /** Also write the module to this file. */
  path?: string;
  /**
   * Embed the WebAssembly kernels and loops (default true); false exports
   * pure JavaScript, for hosts that forbid compiling WebAssembly from bytes.
   */
  wasm?: boolean;
  /** Minify the module (default true). */
  minify?: boolean;
  /**
   * The Layer or Model whose `namedParams()` name the parameters the
   * function reads (the module's `weights()` keys); needed when it reads any.
   */
  model?: NamedParams;
}

/** A Layer or Model, as far as naming parameters goes. */
export interface NamedParams {
  /** Every parameter by its dotted field path. */
  namedParams(): Map<string, Variable>;
}

const STANDALONE = new URL("./standalone.ts", import.meta.url).href;

/** Throws a clear error naming `export` unless the options are well formed. */
function checkOptions(options: ExportOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`export: options must be an object, got ${options}`);
  }
  const { path, wasm, minify, model } = options;
  if (path !== undefined && typeof path !== "string") {
    throw new TypeError(`export: path must be a string, got ${typeof path}`);
  }
  for (const [k, v] of [["wasm", wasm], ["minify", minify]] as const) {
    if (v !== undefined && typeof v !== "boolean") {
      throw new TypeError(`export: ${k} must be a boolean, got ${typeof v}`);
    }
  }
  if (model !== undefined && typeof model?.namedParams !== "function") {
    throw new TypeError("export: model must be a Layer or Model (with namedParams())");
  }
}

/** A host rule's `run` as an expression, where its source text is one. */
function ruleText(run: HostRule<object, unknown>["run"]): string {
  const text = run.toString();
  if (!/^(async\s+)?(function\b|\(|[\w$]+\s*=>)/.test(text) || text.includes("[native code]")) {
    throw new TypeError(
      `export: a host rule's run is not a function expression (${
        text.slice(0, 40)
      }...): write it as an arrow function or a function`,
    );
  }
  return text;
}

/** Throws: an exported module's arguments are plain arrays, with no gradient or data to set. */
function refuse(what: string, arg: number): never {
  throw new Error(
    `export: the function ${what} of its argument ${arg}; an exported module takes plain arrays`,
  );
}

/**
 * The state a module stores, gathered while its spec is built: parameters
 * and gradients by dotted name, closure arrays by buffer name.
 */
class Stored {
  readonly params: Record<string, StoredArray> = {};
  readonly grads: Record<string, StoredArray | null> = {};
  readonly constants: Record<string, StoredArray> = {};
  readonly #names = new Map<Variable, string>();

  constructor(readonly tape: Tape, readonly driver: Driver, readonly model?: NamedParams) {
    for (const [n, p] of model?.namedParams() ?? []) this.#names.set(p, n);
  }

  /** The name of parameter `v`, its value stored. */
  param(v: Variable): string {
    const n = this.#names.get(v);
    if (n === undefined) {
      throw new Error(
        `export: the function reads a parameter of shape ${fmtShape(v.shape)} that ${
          this.model ? "is not among options.model's namedParams()" : "has no name"
        }: pass { model } (the Layer or Model that holds it)`,
      );
    }
    this.params[n] ??= store(v.data[RAW], v.data.shape);
    return n;
  }

  /** The name of parameter `v`, its value and gradient stored. */
  grad(v: Variable): string {
    const n = this.param(v);
    if (!(n in this.grads)) {
      this.grads[n] = v.grad === null ? null : store(v.grad.data[RAW], v.shape);
    }
    return n;
  }

  /** The name of bound slot `i`, a closure array, its value stored. */
  constant(i: number): string {
    const { g, bp } = this.tape;
    const s = sourceOf(g, bp, i), name = bp.slots[i].name;
    if (s.kind !== "const") throw new Error(`export: slot ${name} is no constant`);
    this.constants[name] ??= store(s.array[RAW], s.array.shape);
    return name;
  }

  /** Where value `v` lies after a replay. */
  ref(v: number): Ref {
    const { g, bp } = this.tape;
    const i = bp.slotOf.get(v)!;
    const k = this.driver.perCall.indexOf(i);
    if (k >= 0) return { bound: k };
    const slot = bp.slots[i];
    if (slot.kind !== "bound" || sourceOf(g, bp, i).kind === "scalar") return { buffer: slot.name };
    return { constant: this.constant(i) };
  }

  /** A result with its arrays as refs. */
  result(r: Result): ResultSpec {
    if (r.kind === "variable" || r.kind === "array") {
      return {
        kind: "array",
        ref: this.ref(r.value),
        shape: [...this.tape.g.values[r.value].shape],
      };
    }
    return r.kind === "list" ? { kind: "list", items: r.items.map((x) => this.result(x)) } : r;
  }
}

/** What a module records of `tape` (its module text `driver`), and the state it stores. */
function specOf(
  tape: Tape,
  driver: Driver,
  name: string,
  args: ArgSpec[],
  model?: NamedParams,
): ExportSpec {
  const { g, bp } = tape;
  if (g.stateReads.length > 0 || g.stateWrites.length > 0) {
    throw new Error(
      "export: the function carries layer state from call to call (an RNN's h), which an exported module does not hold yet",
    );
  }
  const st = new Stored(tape, driver, model);
  const bound = driver.perCall.map((i) => {
    const s = sourceOf(g, bp, i);
    if (s.kind === "arg") return { arg: s.index };
    if (s.kind === "var") return { param: st.param(s.variable) };
    if (s.kind !== "grad") throw new Error(`export: unexpected per-call ${s.kind}`);
    return s.arg === undefined
      ? { grad: st.grad(s.variable) }
      : refuse("reads the gradient", s.arg);
  });
  driver.constants.forEach((i) => st.constant(i));
  // an argument is an array: "no gradient" is what it has; anything else cannot be set
  const writebacks = g.writebacks.filter((w) => w.arg === undefined || w.value !== null).map((w) =>
    w.arg !== undefined ? refuse(`sets the ${w.field}`, w.arg) : {
      param: w.field === "grad" ? st.grad(w.variable) : st.param(w.variable),
      field: w.field,
      ref: w.value === null ? null : st.ref(w.value),
    }
  );
  const guards = g.guards.flatMap((guard) =>
    guard.arg === undefined
      ? [{ param: st.grad(guard.variable), present: guard.present }]
      : guard.present
      ? refuse("accumulates into the gradient", guard.arg)
      : []
  );
  const result = st.result(g.result);
  const { params, grads, constants } = st;
  return { name, args, bound, params, grads, constants, writebacks, guards, result };
}

/**
 * The module's host steps (`scalarN`/`effectN: () => ruleK(hyper.Owner)`),
 * each rule's source once (`const ruleK = ...`), and `hyper`'s entries: a
 * copy of the numeric fields of each rule's owner, by its class name.
 */
function hostCode(g: Graph, driver: Driver): { steps: string[]; rules: string[]; hyper: string[] } {
  const owners = new Map<object, string>();
  const ownerKey = (o: object): string => {
    if (!owners.has(o)) {
      const base = word(o.constructor.name) || "host";
      const taken = new Set(owners.values());
      let key = base;
      for (let k = 2; taken.has(key); k++) key = `${base}${k}`;
      owners.set(o, key);
    }
    return owners.get(o)!;
  };
  const rules = new Map<HostRule<object, unknown>["run"], string>();
  const ruleName = (run: HostRule<object, unknown>["run"]): string => {
    if (!rules.has(run)) rules.set(run, `rule${rules.size}`);
    return rules.get(run)!;
  };
  const steps = driver.hostSteps.map(({ name, node }) => {
    const source = g.values[node.out]?.source;
    const rule = node.op === "$effect" ? node.rule : source?.kind === "scalar" ? source.rule : null;
    if (!rule) {
      throw new Error(
        `export: a host ${
          node.op === "$effect" ? "effect" : "scalar"
        } was given as a plain function; give hostScalar/hostEffect a HostRule ({ owner, run }) to export it`,
      );
    }
    return `${name}: () => ${ruleName(rule.run)}(hyper.${ownerKey(rule.owner)}),`;
  });
  return {
    steps,
    rules: [...rules].map(([run, n]) => `const ${n} = ${ruleText(run)};`),
    hyper: [...owners].map(([o, key]) => {
      const fields = Object.entries(o).filter(([, v]) => typeof v === "number");
      return `${key}: { ${fields.map(([f, v]) => `${JSON.stringify(f)}: ${num(v)}`).join(", ")} },`;
    }),
  };
}

/**
 * The module text of `tape` (the function `name`, traced with arguments
 * `args`), bundled by esbuild-wasm; written to `options.path` when given.
 */
export async function exportTape(
  tape: Tape,
  name: string,
  args: ArgSpec[],
  options: ExportOptions = {},
): Promise<string> {
  checkOptions(options);
  const wasm = options.wasm ?? true;
  const driver = driverText(tape.g, tape.fused, tape.bp, wasm);
  if (driver.stats.fallbacks > 0) {
    throw new Error(
      `export: the tape runs ${driver.stats.fallbacks} op(s) by the eager kernel (${
        driver.stats.fallbackOps.join(", ")
      }); an exported module carries compiled kernels only`,
    );
  }
  const spec = specOf(tape, driver, name, args, options.model);
  const host = hostCode(tape.g, driver);
  const random = driver.runtime.includes("random");
  const imports = [...driver.runtime, ...(random ? ["setRngState"] : [])];
  const runtime = wasm ? RUNTIME_MODULES.wasm : RUNTIME_MODULES.js;
  const entry = [
    `import { standalone } from ${JSON.stringify(STANDALONE)};`,
    imports.length ? `import { ${imports.join(", ")} } from ${JSON.stringify(runtime)};` : "",
    `export const hyper = {\n${host.hyper.join("\n")}\n};`,
    random ? `setRngState(${JSON.stringify(rngState())});` : "",
    ...host.rules,
    `const exported = standalone(${JSON.stringify(spec)},\n${driver.text},\n{ ${
      driver.runtime.join(", ")
    } },\n{\n${host.steps.join("\n")}\n});`,
    `export default exported.step;`,
    `export const weights = exported.weights;`,
    `export const setWeights = exported.setWeights;`,
  ].join("\n");
  const { code } = await bundle(entry, { minify: options.minify ?? true, pure: true });
  const text = `// ${word(name) || "function"}, exported by DeZero.ts (tape ${driver.id}, ${
    wasm ? "with" : "without"
  } WebAssembly): default(...args), weights(), setWeights(w), hyper\n${code}`;
  if (options.path !== undefined) await Deno.writeTextFile(options.path, text);
  return text;
}
