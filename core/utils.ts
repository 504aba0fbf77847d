/**
 * `utils`: DeZero's dezero/utils.py — numerical gradients and gradient
 * checks, `sumTo` on arrays, and the computational graph as Graphviz DOT.
 * @module
 */
import { dispatch } from "./dispatch.ts";
import type { Function } from "./function.ts";
import { NDArray, zerosLike } from "./ndarray.ts";
import type { Shape } from "./shape.ts";
import { Variable } from "./variable.ts";
import { sumToArray } from "../ops/shape.ts";

/**
 * The gradient of `sum(f(x))` with respect to `x` by central differences,
 * `(f(x + eps) - f(x - eps)) / (2 eps)` per element, evaluated on a float64
 * copy of `x` (DeZero's `numerical_grad`). `f` may itself call `backward`,
 * so the derivative of a gradient can be checked too.
 *
 * @param f the function to differentiate
 * @param x the point (its values are not modified)
 * @param eps the step
 * @returns a float64 array shaped like `x`
 *
 * @example
 * ```ts
 * import { F, utils, Variable } from "../mod.ts";
 * const g = utils.numericalGrad((x) => F.square(x), new Variable(3)); // ≈ 6
 * ```
 */
export function numericalGrad(
  f: (x: Variable) => Variable,
  x: Variable | NDArray,
  eps = 1e-4,
): NDArray {
  const point = (x instanceof Variable ? x.data : x).astype("float64");
  const values = point.raw;
  const grad = new Float64Array(values.length);
  // a float64 copy: f may return a view of the point it is given
  const run = (): NDArray => f(new Variable(point)).data.astype("float64");
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    values[i] = v + eps;
    const y1 = run();
    values[i] = v - eps;
    const y2 = run();
    values[i] = v;
    grad[i] = y1.sub(y2).sum().item() / (2 * eps);
  }
  return new NDArray(grad, point.shape);
}

/** Options of `gradientCheck`: numpy's allclose tolerances. */
export interface GradientCheckOptions {
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
}

/**
 * Compares the backward gradient of `f` at `x` (converted to float64, as
 * DeZero does) with `numericalGrad`, by numpy's allclose rule
 * `|num - bp| <= atol + rtol * |bp|` (DeZero's `gradient_check`).
 *
 * @returns true when they agree; on false, the largest difference is logged
 *
 * @example
 * ```ts
 * import { F, utils, Variable } from "../mod.ts";
 * utils.gradientCheck((x) => F.sin(x), new Variable([0.5, 1.5])); // true
 * ```
 */
export function gradientCheck(
  f: (x: Variable) => Variable,
  x: Variable | NDArray,
  { rtol = 1e-4, atol = 1e-5 }: GradientCheckOptions = {},
): boolean {
  const xv = new Variable((x instanceof Variable ? x.data : x).astype("float64"));
  const num = numericalGrad(f, xv);
  f(xv).backward();
  const bp = xv.grad === null ? zerosLike(num) : xv.grad.data;
  const diff = dispatch("abs", [num.sub(bp)]);
  const tol = dispatch("abs", [bp]).mul(rtol).add(atol);
  const close = dispatch("le", [diff, tol]).sum().item() === num.size;
  if (!close) {
    const worst = diff.max().item();
    console.warn(
      `gradientCheck: FAILED, max |numerical - backprop| = ${worst} over ${num.size} elements (rtol ${rtol}, atol ${atol})`,
    );
  }
  return close;
}

/**
 * `x` summed down to `shape` (DeZero's `utils.sum_to`): leading axes and
 * axes where `shape` has 1 are summed.
 *
 * @example
 * ```ts
 * import { array, utils } from "../mod.ts";
 * utils.sumTo(array([[1, 2, 3], [4, 5, 6]]), [1, 3]); // [[5 7 9]]
 * ```
 */
export function sumTo(x: NDArray, shape: Shape): NDArray {
  return sumToArray(x, shape);
}

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
 * import { F, utils, Variable } from "../mod.ts";
 * const x = new Variable(2, "x");
 * const dot = utils.getDotGraph(F.square(x)); // "digraph g {\n..."
 * ```
 */
export function getDotGraph(y: Variable, { verbose = true }: DotOptions = {}): string {
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
 */
export async function plotDotGraph(
  y: Variable,
  toFile = "graph.png",
  { verbose = true }: DotOptions = {},
): Promise<string> {
  const ext = /\.([^./\\]+)$/.exec(toFile)?.[1] ?? "";
  const dotPath = ext ? toFile.slice(0, -ext.length) + "dot" : toFile + ".dot";
  await Deno.writeTextFile(dotPath, getDotGraph(y, { verbose }));
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
