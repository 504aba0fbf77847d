/**
 * `optimizers`: DeZero's `dezero.optimizers` — SGD, MomentumSGD, AdaGrad,
 * AdaDelta, Adam and the hooks WeightDecay, ClipGrad, FreezeParam.
 *
 * Updates are in-place NDArray operations on `param.data` and on per-parameter
 * state arrays that live across steps, so a JIT trace of `update()` replays
 * them as kernels. Hyperparameters a user may change between steps (`lr`,
 * rates) enter as `hostScalar`s, re-read on every replay; Adam's step count
 * advances through `hostEffect`. Both are given as `HostRule`s (a pure
 * function of the optimizer's fields), so a jitted step can be exported.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { hostEffect, type HostRule, hostScalar, scoped, tracer } from "../core/hooks.ts";
import { type NDArray, scalar, zerosLike } from "../core/array/ndarray.ts";
import { inspectAsString } from "../core/array/print.ts";
import { Parameter } from "../core/autograd/variable.ts";
import { checkFinite, show } from "../core/validate.ts";

/** Anything with parameters: a Layer or Model. */
export interface Target {
  /** The parameters to optimize. */
  params(): Iterable<Parameter>;
}

/** A hook object run on the parameters (those with a gradient) before each update. */
export interface Hook {
  /** Adjusts the parameters or their gradients in place. */
  run(params: Parameter[]): void;
}

/** A hook: a Hook object or a plain function of the parameters. */
export type HookLike = Hook | ((params: Parameter[]) => void);

/**
 * The value of `rule` as a 0-d array of the dtype a number takes beside
 * `like` (so `lr * grad` computes as numpy does), re-read on each JIT
 * replay, where the owner's `fields` it reads (hyperparameters users may
 * change between steps) are checked first, each a finite number.
 */
function hyper<O extends object>(
  rule: HostRule<O, number>,
  like: NDArray,
  fields: (keyof O & string)[],
): NDArray {
  const op = rule.owner.constructor.name;
  const check = () => {
    for (const f of fields) checkFinite(rule.owner[f], op, f);
  };
  return hostScalar(rule, like.dtype === "int32" ? "float64" : like.dtype, check);
}

/** Checks constructor hyperparameters: each a finite number. */
function checkHypers(op: string, values: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(values)) checkFinite(v, op, name);
}

/** An optimizer's `lr` (a HostRule's `run`: self-contained). */
const lrOf = (o: { lr: number }): number => o.lr;

/** `sqrt(x)`, elementwise. */
function sqrt(x: NDArray): NDArray {
  return dispatch("sqrt", [x]);
}

/** The gradient array of a parameter that has one. */
function gradOf(param: Parameter): NDArray {
  return param.grad!.data;
}

/** Per-parameter state arrays (zeros at first use), kept across steps. */
class State {
  #arrays = new Map<Parameter, NDArray>();
  /** The state array of `param`. */
  of(param: Parameter): NDArray {
    let s = this.#arrays.get(param);
    if (s === undefined) {
      s = zerosLike(param.data);
      this.#arrays.set(param, s);
    }
    return s;
  }
}

/**
 * Base class of optimizers: `setup(model)`, then `update()` after each backward.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * // a new optimizer only writes updateOne (DeZero's update_one)
 * class MySGD extends optimizers.Optimizer {
 *   constructor(public lr = 0.01) {
 *     super();
 *   }
 *   updateOne(param: dz.Parameter): void {
 *     param.data.isub(param.grad!.data.mul(this.lr)); // param.data -= lr * param.grad.data
 *   }
 * }
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new MySGD(0.1).setup({ params: () => [p] }); // usually setup(model)
 * F.sum(F.square(p)).backward(); // grad = 2p = [2, 4]
 * opt.update();
 * assert.equal(String(p), "variable([0.8 1.6])");
 * ```
 */
export abstract class Optimizer {
  /** What `update` optimizes (set by `setup`). */
  target: Target | null = null;
  /** Hooks run before each update, in order. */
  hooks: HookLike[] = [];

  /** Sets the model to optimize; returns this. */
  setup(target: Target): this {
    if (typeof (target as Partial<Target> | null)?.params !== "function") {
      throw new TypeError(
        `${this.constructor.name}.setup: expected a Layer or Model (with params()), got ${
          show(target)
        }`,
      );
    }
    this.target = target;
    return this;
  }

  /**
   * Runs the hooks on the parameters that have a gradient, then updates
   * each parameter that still has one (a FreezeParam hook removes them).
   */
  update(): void {
    if (this.target === null) {
      throw new Error(`${this.constructor.name}.update: call setup(model) first`);
    }
    const params = [...this.target.params()].filter((p) => p.grad !== null);
    for (const hook of this.hooks) {
      if (typeof hook === "function") hook(params);
      else hook.run(params);
    }
    if (tracer === null) {
      for (const p of params) if (p.grad !== null) this.updateOne(p);
      return;
    }
    // while tracing, each parameter's update is labelled with its path
    const label = `${this.constructor.name}.update`;
    const named = (this.target as { namedParams?: () => Map<string, Parameter> }).namedParams?.();
    const names = new Map([...(named ?? [])].map(([name, p]) => [p, name]));
    for (const p of params) {
      if (p.grad !== null) scoped(`${label} ${names.get(p) ?? ""}`, null, () => this.updateOne(p));
    }
  }

  /** Updates one parameter from its gradient. */
  abstract updateOne(param: Parameter): void;

  /** Adds a hook run before each update. */
  addHook(hook: HookLike): void {
    if (typeof hook !== "function" && typeof (hook as Partial<Hook> | null)?.run !== "function") {
      throw new TypeError(
        `${this.constructor.name}.addHook: expected a function or an object with run(params), got ${
          show(hook)
        }`,
      );
    }
    this.hooks.push(hook);
  }

  /**
   * The class and its settings, as `console.log` shows it:
   * `Adam(alpha: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0)`, then the
   * hooks by name.
   */
  toString(): string {
    const items = Object.entries(this).filter(([, v]) => typeof v === "number")
      .map(([k, v]) => `${k}: ${v}`);
    if (this.hooks.length) {
      const names = this.hooks.map((h) => (typeof h === "function" ? h : h.constructor).name);
      items.push(`hooks: [${names.map((n) => n || "(anonymous)").join(", ")}]`);
    }
    return `${this.constructor.name}(${items.join(", ")})`;
  }
}

inspectAsString(Optimizer);

/**
 * Stochastic gradient descent: `param -= lr * grad`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, MLP, optimizers, random } = dz;
 * random.seed(0);
 * const x = random.rand(100, 1);
 * const t = x.mul(2).add(5); // y = 2x + 5
 * const model = new MLP([10, 1]);
 * const optimizer = new optimizers.SGD(0.2).setup(model);
 * const losses: number[] = [];
 * for (let i = 0; i < 100; i++) {
 *   const loss = F.meanSquaredError(model.apply(x), t);
 *   model.cleargrads();
 *   loss.backward();
 *   optimizer.update();
 *   losses.push(loss.item());
 * }
 * assert.ok(losses[99] < losses[0] / 10);
 * ```
 */
export class SGD extends Optimizer {
  /**
   * An SGD optimizer.
   * @param lr learning rate (may be changed between steps)
   */
  constructor(public lr = 0.01) {
    super();
    checkHypers("SGD", { lr });
  }
  /** `param -= lr * grad`. */
  updateOne(param: Parameter): void {
    const g = gradOf(param);
    param.data.isub(g.mul(hyper({ owner: this, run: lrOf }, g, ["lr"])));
  }
}

/**
 * SGD with momentum: `v = momentum * v - lr * grad; param += v`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new optimizers.MomentumSGD(0.1, 0.9).setup({ params: () => [p] }); // usually setup(model)
 * F.sum(F.square(p)).backward(); // grad = 2p = [2, 4]
 * opt.update();
 * assert.equal(String(p), "variable([0.8 1.6])"); // v = -0.1 grad
 * p.cleargrad(); // as a training loop does before each backward
 * F.sum(F.square(p)).backward();
 * opt.update(); // v = 0.9 v - 0.1 grad
 * assert.equal(String(p), "variable([0.46 0.92])");
 * ```
 */
export class MomentumSGD extends Optimizer {
  #vs = new State();
  /**
   * A momentum SGD optimizer.
   * @param lr learning rate (may be changed between steps)
   * @param momentum decay of the velocity
   */
  constructor(public lr = 0.01, readonly momentum = 0.9) {
    super();
    checkHypers("MomentumSGD", { lr, momentum });
  }
  /** `v *= momentum; v -= lr * grad; param += v`. */
  updateOne(param: Parameter): void {
    const v = this.#vs.of(param);
    v.imul(this.momentum);
    const g = gradOf(param);
    v.isub(g.mul(hyper({ owner: this, run: lrOf }, g, ["lr"])));
    param.data.iadd(v);
  }
}

/**
 * AdaGrad: `h += grad^2; param -= lr * grad / (sqrt(h) + eps)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new optimizers.AdaGrad(0.001).setup({ params: () => [p] }); // usually setup(model)
 * F.sum(F.square(p)).backward(); // grad = 2p = [2, 4]
 * opt.update();
 * assert.equal(String(p), "variable([0.999 1.999])"); // lr * grad / |grad| on the first step
 * ```
 */
export class AdaGrad extends Optimizer {
  #hs = new State();
  /**
   * An AdaGrad optimizer.
   * @param lr learning rate (may be changed between steps)
   * @param eps added to the denominator
   */
  constructor(public lr = 0.001, readonly eps = 1e-8) {
    super();
    checkHypers("AdaGrad", { lr, eps });
  }
  /** `h += grad * grad; param -= lr * grad / (sqrt(h) + eps)`. */
  updateOne(param: Parameter): void {
    const h = this.#hs.of(param);
    const g = gradOf(param);
    h.iadd(g.mul(g));
    param.data.isub(
      g.mul(hyper({ owner: this, run: lrOf }, g, ["lr"])).div(sqrt(h).add(this.eps)),
    );
  }
}

/**
 * AdaDelta: running averages of squared gradients (`msg`) and squared
 * updates (`msdx`); `dx = sqrt((msdx + eps) / (msg + eps)) * grad`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new optimizers.AdaDelta().setup({ params: () => [p] }); // usually setup(model)
 * F.sum(F.square(p)).backward(); // grad = 2p = [2, 4]
 * opt.update();
 * assert.equal(String(p), "variable([0.99552788 1.99552787])");
 * ```
 */
export class AdaDelta extends Optimizer {
  #msg = new State();
  #msdx = new State();
  /**
   * An AdaDelta optimizer.
   * @param rho decay of the running averages
   * @param eps smoothing term
   */
  constructor(readonly rho = 0.95, readonly eps = 1e-6) {
    super();
    checkHypers("AdaDelta", { rho, eps });
  }
  /** DeZero's AdaDelta step. */
  updateOne(param: Parameter): void {
    const msg = this.#msg.of(param), msdx = this.#msdx.of(param);
    const { rho, eps } = this;
    const g = gradOf(param);
    msg.imul(rho);
    msg.iadd(g.mul(1 - rho).mul(g));
    const dx = sqrt(msdx.add(eps).div(msg.add(eps))).mul(g);
    msdx.imul(rho);
    msdx.iadd(dx.mul(1 - rho).mul(dx));
    param.data.isub(dx);
  }
}

/**
 * Adam with DeZero's bias correction folded into the rate:
 * `lr = alpha * sqrt(1 - beta2^t) / (1 - beta1^t)`, `t` counting `update()`s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new optimizers.Adam(0.001).setup({ params: () => [p] }); // usually setup(model)
 * F.sum(F.square(p)).backward(); // grad = 2p = [2, 4]
 * opt.update();
 * assert.equal(String(p), "variable([0.999 1.999])"); // about alpha * sign(grad) at first
 * assert.equal(opt.t, 1);
 * ```
 */
export class Adam extends Optimizer {
  /** Number of `update()` calls so far. */
  t = 0;
  #ms = new State();
  #vs = new State();
  /**
   * An Adam optimizer.
   * @param alpha step size (may be changed between steps)
   * @param beta1 decay of the first moment
   * @param beta2 decay of the second moment
   * @param eps added to the denominator
   */
  constructor(
    public alpha = 0.001,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    super();
    checkHypers("Adam", { alpha, beta1, beta2, eps });
  }

  /** The bias-corrected learning rate of step `t`. */
  get lr(): number {
    return adamRate(this);
  }

  /** Advances `t`, then updates as every optimizer. */
  override update(): void {
    hostEffect({ owner: this, run: adamTick });
    super.update();
  }

  /** `m += (1 - beta1)(g - m); v += (1 - beta2)(g^2 - v); param -= lr m / (sqrt(v) + eps)`. */
  updateOne(param: Parameter): void {
    const m = this.#ms.of(param), v = this.#vs.of(param);
    const g = gradOf(param);
    m.iadd(g.sub(m).mul(1 - this.beta1));
    v.iadd(g.mul(g).sub(v).mul(1 - this.beta2));
    const lr = hyper({ owner: this, run: adamRate }, m, ["alpha", "beta1", "beta2", "t"]);
    param.data.isub(m.mul(lr).div(sqrt(v).add(this.eps)));
  }
}

/** Adam's bias-corrected rate at step `t` (a HostRule's `run`: self-contained). */
function adamRate(o: Adam): number {
  const fix1 = 1 - Math.pow(o.beta1, o.t);
  const fix2 = 1 - Math.pow(o.beta2, o.t);
  return o.alpha * Math.sqrt(fix2) / fix1;
}

/** Adam's step count advancing (a HostRule's `run`: self-contained). */
function adamTick(o: Adam): void {
  o.t += 1;
}

/**
 * Hook adding L2 weight decay to the gradients: `grad += rate * param`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new optimizers.SGD(0.1).setup({ params: () => [p] });
 * opt.addHook(new optimizers.WeightDecay(0.5));
 * F.sum(F.square(p)).backward(); // grad = 2p, then + 0.5 p
 * opt.update();
 * assert.equal(String(p), "variable([0.75 1.5 ])");
 * ```
 */
export class WeightDecay implements Hook {
  /**
   * A weight decay hook.
   * @param rate decay rate (may be changed between steps)
   */
  constructor(public rate: number) {
    checkHypers("WeightDecay", { rate });
  }
  /** `grad += rate * param` for each parameter. */
  run(params: Parameter[]): void {
    const rule = { owner: this, run: (o: WeightDecay) => o.rate };
    for (const p of params) gradOf(p).iadd(p.data.mul(hyper(rule, p.data, ["rate"])));
  }
}

/**
 * Hook scaling all gradients by `maxNorm / (norm + 1e-6)` when that is
 * below 1, `norm` being the L2 norm of all gradients together. The scale
 * is computed as an array (`min(rate, 1)`), so no value is read back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Parameter, optimizers } = dz;
 * const p = new Parameter(dz.array([1, 2], { dtype: "float64" }));
 * const opt = new optimizers.SGD(0).setup({ params: () => [p] });
 * opt.addHook(new optimizers.ClipGrad(1));
 * F.sum(F.square(p)).backward(); // grad [2, 4], norm sqrt(20)
 * opt.update();
 * assert.equal(String(p.grad), "variable([0.4472135  0.89442699])"); // norm 1
 * ```
 */
export class ClipGrad implements Hook {
  /**
   * A gradient clipping hook.
   * @param maxNorm the largest allowed gradient norm (may be changed between steps)
   */
  constructor(public maxNorm: number) {
    checkHypers("ClipGrad", { maxNorm });
  }
  /** Scales the gradients in place when their norm exceeds `maxNorm`. */
  run(params: Parameter[]): void {
    if (params.length === 0) return;
    const total = params
      .map((p) => gradOf(p).mul(gradOf(p)).sum())
      .reduce((a, b) => a.add(b))
      .astype("float64");
    const maxNorm = hyper({ owner: this, run: (o: ClipGrad) => o.maxNorm }, total, ["maxNorm"]);
    const rate = maxNorm.div(sqrt(total).add(1e-6));
    const scale = dispatch("minimum", [rate, scalar(1)]);
    for (const p of params) gradOf(p).imul(scale.astype(gradOf(p).dtype));
  }
}

/**
 * Hook that drops the gradients of the given layers or parameters, so they stay fixed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, MLP, optimizers } = dz;
 * const model = new MLP([3, 1]);
 * const x = dz.ones([4, 2]);
 * model.apply(x);
 * const frozen = model.layers[0].params().next().value!.data.copy(); // l0.W
 * const opt = new optimizers.SGD(0.1).setup(model);
 * opt.addHook(new optimizers.FreezeParam(model.layers[0]));
 * F.sum(model.apply(x)).backward();
 * opt.update();
 * assert.deepEqual(model.layers[0].params().next().value!.data.toArray(), frozen.toArray());
 * ```
 */
export class FreezeParam implements Hook {
  /** The frozen parameters. */
  readonly frozen: Set<Parameter>;
  /**
   * A hook freezing `targets`.
   * @param targets layers (all their parameters) or single parameters
   */
  constructor(...targets: (Target | Parameter)[]) {
    targets.forEach((t, i) => {
      if (
        !(t instanceof Parameter) && typeof (t as Partial<Target> | null)?.params !== "function"
      ) {
        throw new TypeError(
          `FreezeParam: argument ${i} must be a Layer or a Parameter, got ${show(t)}`,
        );
      }
    });
    this.frozen = new Set(
      targets.flatMap((t) => ("params" in t ? [...t.params()] : [t as Parameter])),
    );
  }
  /** Sets the frozen parameters' `grad` to null. */
  run(_params: Parameter[]): void {
    for (const p of this.frozen) p.grad = null;
  }
}
