/**
 * The computational graph as Graphviz DOT (DeZero's `get_dot_graph` and
 * `plot_dot_graph`).
 * @module
 */
import type { Shape } from "../array/shape_rules.ts";
import type { Function } from "./function.ts";
import { Variable } from "./variable.ts";
import { checkBool, checkOptions, checkString, show } from "../validate.ts";

/** Options of `getDotGraph` and `plotDotGraph`. */
export interface DotOptions {
  /** Show each variable's shape and dtype (default true). */
  verbose?: boolean;
}

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A stable per-object node id (Python's `id()`). */
function nodeId(obj: object): number {
  let id = ids.get(obj);
  if (id === undefined) ids.set(obj, id = ++nextId);
  return id;
}

/** `s` as a DOT double-quoted string body: quotes, backslashes and newlines escaped. */
function escapeDot(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r\n|\r|\n/g, "\\n");
}

/** Python's `str(tuple)` of a shape: `(2, 3)`, `(3,)`, `()`. */
function pyShape(shape: Shape): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

function dotVar(v: Variable, verbose: boolean): string {
  let label = v.name ?? "";
  if (verbose) label += (v.name !== null ? ": " : "") + `${pyShape(v.shape)} ${v.dtype}`;
  return `${nodeId(v)} [label="${escapeDot(label)}", color=orange, style=filled]\n`;
}

function dotFunc(f: Function): string {
  const id = nodeId(f);
  let txt = `${id} [label="${escapeDot(f.name)}", color=lightblue, style=filled, shape=box]\n`;
  for (const x of f.inputs) txt += `${nodeId(x)} -> ${id}\n`;
  for (const ref of f.outputs) txt += `${id} -> ${nodeId(ref.deref())}\n`;
  return txt;
}

/**
 * The graph behind `y` in Graphviz DOT (DeZero's `get_dot_graph`): orange
 * variable nodes (name, and `shape dtype` when verbose), light-blue box
 * function nodes (the op's class name), edges input -> function -> output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, utils, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(2, "x");
 * const dot = utils.getDotGraph(F.square(x));
 * assert.match(dot, /^digraph g \{\n/);
 * assert.match(dot, /label="x: \(\) float64", color=orange/);
 * assert.match(dot, /label="Square", color=lightblue, style=filled, shape=box/);
 * ```
 */
export function getDotGraph(y: Variable, options?: DotOptions): string {
  const { verbose = true } = checkOptions(options, "getDotGraph", ["verbose"]);
  if (!(y instanceof Variable)) {
    throw new TypeError(`getDotGraph: expected a Variable, got ${show(y)}`);
  }
  checkBool(verbose, "getDotGraph", "verbose");
  let txt = dotVar(y, verbose);
  const funcs: Function[] = [];
  const seen = new Set<object>([y]);
  const addFunc = (f: Function | null) => {
    if (f !== null && !seen.has(f)) {
      seen.add(f);
      funcs.push(f);
    }
  };
  addFunc(y.creator);
  while (funcs.length) {
    const f = funcs.pop()!;
    txt += dotFunc(f);
    for (const x of f.inputs) {
      if (!seen.has(x)) {
        seen.add(x);
        txt += dotVar(x, verbose);
      }
      addFunc(x.creator);
    }
  }
  return "digraph g {\n" + txt + "}";
}

/**
 * Writes the DOT of `y`'s graph next to `toFile` (same name, `.dot`) and,
 * when Graphviz `dot` is on PATH, renders it to `toFile` in the format its
 * extension names (DeZero's `plot_dot_graph`). Needs --allow-write (and
 * --allow-run for the image).
 *
 * @returns the path written last: `toFile`, or the `.dot` file when `dot`
 * is not installed (a warning says so)
 * @throws Error when `dot` runs and fails
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, utils, Variable } from "@dezero/dezero-ts";
 * const dir = await Deno.makeTempDir();
 * const x = new Variable(2, "x");
 * const y = F.square(x);
 * const written = await utils.plotDotGraph(y, `${dir}/graph.dot`); // "graph.png" renders with Graphviz
 * assert.equal(written, `${dir}/graph.dot`);
 * assert.equal(await Deno.readTextFile(written), utils.getDotGraph(y));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function plotDotGraph(
  y: Variable,
  toFile = "graph.png",
  options?: DotOptions,
): Promise<string> {
  const dot = getDotGraph(y, options);
  checkString(toFile, "plotDotGraph", "toFile");
  const ext = /\.([^./\\]+)$/.exec(toFile)?.[1] ?? "";
  const dotPath = ext ? toFile.slice(0, -ext.length) + "dot" : toFile + ".dot";
  await Deno.writeTextFile(dotPath, dot);
  if (ext === "dot") return dotPath;
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("dot", { args: [dotPath, `-T${ext || "png"}`, "-o", toFile] })
      .output();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    console.warn(`plotDotGraph: Graphviz 'dot' is not on PATH; wrote ${dotPath} only`);
    return dotPath;
  }
  if (!result.success) {
    throw new Error(
      `plotDotGraph: dot failed (exit ${result.code}): ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return toFile;
}
