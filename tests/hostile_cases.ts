/**
 * The hostile-argument cases of the public API, shared by the fuzz test
 * (tests/hostile.test.ts) and the sweep (tests/hostile_sweep.ts): hostile
 * values, and every public function with one argument slot open, with
 * which values that slot may take. `outcome` runs one case.
 * @module
 */
import * as dz from "../mod.ts";

const { F, L, Variable, Parameter, MLP, Sequential, optimizers, datasets, DataLoader, utils } = dz;

/** Calls of a hostile object's methods (none may happen). */
export let touched = 0;
/** Where injected code would leave its mark. */
export const g = globalThis as { pwned?: number };

/** An object whose conversions would print code into a loop bound. */
export function evil(): unknown {
  return {
    valueOf() {
      touched++;
      return 3;
    },
    toString() {
      touched++;
      return "(globalThis.pwned=1,3)";
    },
  };
}

/** Hostile values, each made fresh by its function, with a label. */
export const HOSTILE: [string, () => unknown][] = [
  ["an object with valueOf/toString", evil],
  ["the string '3'", () => "3"],
  ["the string '\\n3'", () => "\n3"],
  ["a code string", () => "(globalThis.pwned=1,3)"],
  ["NaN", () => NaN],
  ["-1", () => -1],
  ["1.5", () => 1.5],
  ["1e10", () => 1e10],
  ["Infinity", () => Infinity],
  ["null", () => null],
  ["true", () => true],
  ["3n", () => 3n],
  ["a symbol", () => Symbol("s")],
  ["a function", () => () => 3],
  ["the list [3]", () => [3]],
  ["an empty object", () => ({})],
];

/** Which hostile values a slot may legitimately take (others must be refused). */
export type Accepts = (v: unknown) => boolean;
const never: Accepts = () => false;
const num: Accepts = (v) => typeof v === "number";
const finite: Accepts = (v) => typeof v === "number" && Number.isFinite(v);
const int: Accepts = (v) => Number.isInteger(v);
const dim: Accepts = (v) => Number.isInteger(v) && (v as number) >= 0;
const bool: Accepts = (v) => typeof v === "boolean";
const fn: Accepts = (v) => typeof v === "function";
const list: Accepts = (v) => Array.isArray(v);
const data: Accepts = (v) => num(v) || list(v);
const nil: Accepts = (v) => v === null;
/** An options object with nothing set. */
const empty: Accepts = (v) =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
const or = (...ps: Accepts[]): Accepts => (v) => ps.some((p) => p(v));

// deno-lint-ignore no-explicit-any
type Any = any;
const X = () => new Variable(dz.array([[1, 2, 3], [4, 5, 6]], { dtype: "float64" }));
const IMG = () => dz.random.rand(2, 1, 4, 4);
const KER = () => dz.random.rand(3, 1, 2, 2);
const A = () => dz.array([[1, 2, 3], [4, 5, 6]], { dtype: "float64" });
const model = () => {
  const m = new MLP([3, 2]);
  m.apply(X());
  return m;
};
const spiral = () => new datasets.Spiral();

/** [name the error must carry, which values the slot takes, the call with the value in it]. */
export const ENTRIES: [string, Accepts, (v: Any) => unknown][] = [
  // arrays
  ["NDArray", never, (v) => new dz.NDArray(v)],
  ["NDArray", never, (v) => new dz.NDArray(new Float64Array(3), [v])],
  ["NDArray", list, (v) => new dz.NDArray(new Float64Array(3), v)],
  ["NDArray", never, (v) => new dz.NDArray(new Float64Array(3), [3], v)],
  ["array", data, (v) => dz.array(v)],
  ["array", data, (v) => dz.array([1, v])],
  ["array", empty, (v) => dz.array([1, 2], v)],
  ["array", never, (v) => dz.array([1, 2], { dtype: v })],
  ["asArray", never, (v) => dz.asArray([1, 2], { dtype: v })],
  ["zeros", or(dim, list), (v) => dz.zeros(v)],
  ["zeros", dim, (v) => dz.zeros([2, v])],
  ["zeros", empty, (v) => dz.zeros([2], v)],
  ["ones", dim, (v) => dz.ones([v])],
  ["full", num, (v) => dz.full([2], v)],
  ["full", dim, (v) => dz.full([v, 1], 1)],
  ["full", never, (v) => dz.full([2], 1, { dtype: v })],
  ["arange", finite, (v) => dz.arange(v)],
  ["arange", finite, (v) => dz.arange(0, v)],
  ["arange", finite, (v) => dz.arange(0, 3, v)],
  ["arange", never, (v) => dz.arange(0, 3, 1, { dtype: v })],
  ["random.rand", dim, (v) => dz.random.rand(2, v)],
  ["random.randn", or(dim, list), (v) => dz.random.randn(v)],
  ["random.randint", int, (v) => dz.random.randint(-5, v)],
  ["random.randint", or(dim, list), (v) => dz.random.randint(0, 3, v)],
  ["random.permutation", dim, (v) => dz.random.permutation(v)],
  ["random.seed", dim, (v) => dz.random.seed(v)],
  ["random.uniform", dim, (v) => dz.random.uniform([v])],
  ["reshape", or(int, list), (v) => A().reshape(v)],
  ["reshape", int, (v) => A().reshape([v, -1])],
  ["transpose", or(int, list), (v) => A().transpose(v)],
  ["transpose", int, (v) => A().transpose([v, 0])],
  ["sum", or(int, list, nil), (v) => A().sum(v)],
  ["sum", bool, (v) => A().sum(0, v)],
  ["max", or(int, list, nil), (v) => A().max(v)],
  ["min", bool, (v) => A().min(null, v)],
  ["argmax", or(int, nil), (v) => A().argmax(v)],
  ["astype", never, (v) => A().astype(v)],
  ["matmul", never, (v) => A().matmul(v)],
  ...(["add", "sub", "mul", "div", "pow"] as const).map((
    op,
  ): [string, Accepts, (v: Any) => unknown] => [
    op,
    num,
    (v) => A()[op](v),
  ]),
  ...(["iadd", "isub", "imul"] as const).map((op): [string, Accepts, (v: Any) => unknown] => [
    op,
    num,
    (v) => A()[op](v),
  ]),
  // differentiable functions
  ...([
    "exp",
    "log",
    "sin",
    "cos",
    "tanh",
    "sqrt",
    "abs",
    "square",
    "sigmoid",
    "relu",
    "neg",
  ] as const)
    .map((op): [string, Accepts, (v: Any) => unknown] => [op, data, (v) => F[op](v)]),
  ...(["add", "sub", "mul", "div", "pow"] as const).map((
    op,
  ): [string, Accepts, (v: Any) => unknown] => [
    op,
    data,
    (v) => F[op](X(), v),
  ]),
  ["add", data, (v) => F.add(v, X())],
  ["leakyRelu", finite, (v) => F.leakyRelu(X(), v)],
  ["clip", num, (v) => F.clip(X(), v, 5)],
  ["clip", num, (v) => F.clip(X(), 0, v)],
  ["reshape", or(int, list), (v) => F.reshape(X(), v)],
  ["reshape", int, (v) => F.reshape(X(), [v, -1])],
  ["transpose", or(list, nil), (v) => F.transpose(X(), v)],
  ["transpose", int, (v) => F.transpose(X(), [v, 0])],
  ["broadcastTo", list, (v) => F.broadcastTo(X(), v)],
  ["broadcastTo", dim, (v) => F.broadcastTo(X(), [v, 2, 3])],
  ["broadcastTo", dim, (v) => F.broadcastTo(F.sum(X(), 0, true), [2, v])],
  ["sumTo", dim, (v) => F.sumTo(X(), [1, v])],
  ["sumTo", list, (v) => F.sumTo(X(), v)],
  ["expandDims", int, (v) => F.expandDims(X(), v)],
  ["flatten", data, (v) => F.flatten(v)],
  ["getItem", or(int, list, nil, empty), (v) => F.getItem(X(), v)],
  ["getItem", or(int, nil, empty), (v) => F.getItem(X(), [0, v])],
  ["getItem", or(int, (v) => v === null), (v) => F.getItem(X(), dz.slice(v, 2))],
  ["getItem", or(int, (v) => v === null), (v) => F.getItem(X(), [dz.slice(0, 2, v), 1])],
  ...(["sum", "mean", "max", "min", "logsumexp"] as const).map((
    op,
  ): [string, Accepts, (v: Any) => unknown] => [
    op,
    or(int, list, (v) => v === null),
    (v) => F[op](X(), v),
  ]),
  ["sum", bool, (v) => F.sum(X(), 0, v)],
  ["logsumexp", bool, (v) => F.logsumexp(X(), 1, v)],
  ["softmax", int, (v) => F.softmax(X(), v)],
  ["logSoftmax", int, (v) => F.logSoftmax(X(), v)],
  ["matmul", data, (v) => F.matmul(X(), v)],
  ["linear", or(data, nil), (v) => F.linear(X(), new Variable(dz.ones([3, 2])), v)],
  ["meanSquaredError", data, (v) => F.meanSquaredError(X(), v)],
  ["softmaxCrossEntropy", list, (v) => F.softmaxCrossEntropy(X(), v)],
  ["softmaxCrossEntropy", int, (v) => F.softmaxCrossEntropy(X(), [0, v])],
  ["sigmoidCrossEntropy", data, (v) => F.sigmoidCrossEntropy(X(), v)],
  ["accuracy", int, (v) => F.accuracy(X(), [1, v])],
  ["dropout", num, (v) => F.dropout(X(), v)],
  // convolutions and pooling
  ["conv2d", or(dim, list), (v) => F.conv2d(IMG(), KER(), null, v)],
  ["conv2d", or(dim, list), (v) => F.conv2d(IMG(), KER(), null, 1, v)],
  ["conv2d", or(dim, list), (v) => F.conv2d(IMG(), KER(), null, [1, v])],
  ["conv2d", or(data, nil), (v) => F.conv2d(IMG(), KER(), v)],
  ["conv2d", data, (v) => F.conv2d(v, KER())],
  ["deconv2d", or(dim, list), (v) => F.deconv2d(IMG(), KER().transpose(1, 0, 2, 3), null, v)],
  [
    "deconv2d",
    or(dim, list, nil),
    (v) => F.deconv2d(IMG(), KER().transpose(1, 0, 2, 3), null, 1, 0, v),
  ],
  ["pooling", or(dim, list), (v) => F.pooling(IMG(), v)],
  ["pooling", or(dim, list), (v) => F.pooling(IMG(), 2, v)],
  ["averagePooling", or(dim, list), (v) => F.averagePooling(IMG(), 2, 1, v)],
  ["im2col", or(dim, list), (v) => F.im2col(IMG(), [v, 2])],
  ["im2col", bool, (v) => F.im2col(IMG(), 2, 1, 0, v)],
  ["col2im", list, (v) => F.col2im(dz.ones([18, 4]), v, 2)],
  ["col2im", dim, (v) => F.col2im(dz.ones([18, 4]), [2, 1, 4, v], 2)],
  [
    "batchNorm",
    finite,
    (v) => F.batchNorm(X(), dz.ones([3]), dz.zeros([3]), dz.zeros([3]), dz.ones([3]), v),
  ],
  ["poolingSimple", or(dim, list), (v) => F.poolingSimple(IMG(), v)],
  ["pair", or(num, list), (v) => utils.pair(v)],
  ["getConvOutsize", dim, (v) => utils.getConvOutsize(4, 3, 1, v)],
  ["getDeconvOutsize", dim, (v) => utils.getDeconvOutsize(v, 3, 1, 0)],
  ["sumTo", never, (v) => utils.sumTo(v, [1])],
  ["sumTo", or(list), (v) => utils.sumTo(A(), v)],
  ["Conv2d", (v) => dim(v) && v !== 0, (v) => new L.Conv2d(v, 3)],
  ["Conv2d", or(dim, list), (v) => new L.Conv2d(2, v)],
  ["Conv2d", empty, (v) => new L.Conv2d(2, 3, v)],
  ["Conv2d", or(dim, list), (v) => new L.Conv2d(2, 3, { stride: v })],
  ["Conv2d", or(dim, list), (v) => new L.Conv2d(2, 3, { pad: v })],
  ["Conv2d", (v) => dim(v) && v !== 0, (v) => new L.Conv2d(2, 3, { inChannels: v })],
  ["Deconv2d", or(dim, list), (v) => new L.Deconv2d(2, 2, { stride: v }).apply(IMG())],
  ["Conv2d", data, (v) => new L.Conv2d(2, 3).apply(v)],
  ["BatchNorm", data, (v) => new L.BatchNorm().apply(v)],
  // embeddings and recurrent layers
  ["embedId", or(int, list), (v) => F.embedId(v, new Variable(dz.ones([4, 2])))],
  ["embedId", data, (v) => F.embedId([0, 1], v)],
  ["RNN", (v) => dim(v) && v !== 0, (v) => new L.RNN(v)],
  ["RNN", empty, (v) => new L.RNN(3, v)],
  ["LSTM", (v) => dim(v) && v !== 0, (v) => new L.LSTM(3, { inSize: v })],
  ["LSTM", data, (v) => new L.LSTM(3).apply(v)],
  ["EmbedID", (v) => dim(v) && v !== 0, (v) => new L.EmbedID(v, 3)],
  ["SeqDataLoader", never, (v) => new dz.SeqDataLoader(v, 2)],
  ["SeqDataLoader", (v) => dim(v) && v !== 0, (v) => new dz.SeqDataLoader(spiral(), v)],
  // autograd
  ["Variable", data, (v) => new Variable(v)],
  ["Variable", (v) => v === null || typeof v === "string", (v) => new Variable([1], v)],
  ["Parameter", data, (v) => new Parameter(v)],
  ["backward", empty, (v) => F.sum(X()).backward(v)],
  ["backward", bool, (v) => F.sum(X()).backward({ retainGrad: v })],
  ["reshape", or(int, list), (v) => X().reshape(v)],
  ["transpose", int, (v) => X().transpose(v, 0)],
  ["sum", or(int, list, nil), (v) => X().sum(v)],
  ["pow", data, (v) => X().pow(v)],
  ["Square", nil, (v) => {
    class Square extends dz.Function {
      forward(x: dz.NDArray) {
        return x.mul(x);
      }
      backward() {
        return v;
      }
    }
    new Square().apply(X()).backward();
  }],
  ["Bad.forward", data, (v) => {
    class Bad extends dz.Function {
      forward() {
        return v;
      }
      backward(gy: dz.Variable) {
        return gy;
      }
    }
    return new Bad().apply(X());
  }],
  ["usingConfig", bool, (v) => dz.usingConfig("train", v, () => 0)],
  ["usingConfig", never, (v) => dz.usingConfig(v, true, () => 0)],
  ["usingConfig", fn, (v) => dz.usingConfig("train", true, v)],
  ["numericalGrad", fn, (v) => utils.numericalGrad(v, X())],
  ["numericalGrad", never, (v) => utils.numericalGrad(F.sin, v)],
  ["numericalGrad", finite, (v) => utils.numericalGrad(F.sin, X(), v)],
  ["gradientCheck", empty, (v) => utils.gradientCheck(F.sin, X(), v)],
  ["getDotGraph", never, (v) => utils.getDotGraph(v)],
  ["getDotGraph", empty, (v) => utils.getDotGraph(F.sin(X()), v)],
  // layers, models, optimizers
  ["Linear", dim, (v) => new L.Linear(v)],
  ["Linear", empty, (v) => new L.Linear(3, v)],
  ["Linear", dim, (v) => new L.Linear(3, { inSize: v })],
  ["Linear", bool, (v) => new L.Linear(3, { nobias: v })],
  ["Linear", never, (v) => new L.Linear(3, { dtype: v })],
  ["Linear", data, (v) => new L.Linear(2).apply(v)],
  ["MLP", list, (v) => new MLP(v)],
  ["MLP", (v) => dim(v) && v !== 0, (v) => new MLP([v, 2])],
  ["MLP", empty, (v) => new MLP([3], v)],
  ["MLP", fn, (v) => new MLP([3], { activation: v })],
  ["Sequential", fn, (v) => new Sequential(v)],
  ["Sequential", never, (v) => new Sequential(() => v).apply(X())],
  ["VGG16", empty, (v) => new dz.VGG16(v)],
  ["ResNet50", empty, (v) => new dz.ResNet50(v)],
  ["ResNet152", never, (v) => new dz.ResNet152({ pretrained: v })],
  ["VGG16.preprocess", never, (v) => dz.VGG16.preprocess(v)],
  ["VGG16.preprocess", nil, (v) => dz.VGG16.preprocess(dz.zeros([2, 2, 3]), v)],
  ["VGG16.preprocess", never, (v) => dz.VGG16.preprocess(dz.zeros([2, 2, 3]), null, v)],
  // transforms
  ["Compose", never, (v) => new dz.transforms.Compose(v)],
  ["Compose", never, (v) => new dz.transforms.Compose([() => v])(A())],
  ["Normalize", or(finite, list), (v) => new dz.transforms.Normalize(v)(A())],
  ["Normalize", or(finite, list), (v) => new dz.transforms.Normalize(0, v)(A())],
  ["AsType", never, (v) => new dz.transforms.AsType(v)],
  ["ToInt", never, (v) => new dz.transforms.ToInt(v)],
  ["Flatten", never, (v) => new dz.transforms.Flatten()(v)],
  ["SGD", finite, (v) => new optimizers.SGD(v)],
  ["MomentumSGD", finite, (v) => new optimizers.MomentumSGD(0.1, v)],
  ["AdaGrad", finite, (v) => new optimizers.AdaGrad(0.1, v)],
  ["AdaDelta", finite, (v) => new optimizers.AdaDelta(v)],
  ["Adam", finite, (v) => new optimizers.Adam(v)],
  ["WeightDecay", finite, (v) => new optimizers.WeightDecay(v)],
  ["ClipGrad", finite, (v) => new optimizers.ClipGrad(v)],
  ["FreezeParam", never, (v) => new optimizers.FreezeParam(v)],
  ["SGD.setup", never, (v) => new optimizers.SGD().setup(v)],
  ["SGD.addHook", fn, (v) => new optimizers.SGD().addHook(v)],
  ["SGD", finite, (v) => {
    const m = model();
    const opt = new optimizers.SGD().setup(m);
    F.sum(m.apply(X())).backward();
    opt.lr = v;
    opt.update();
  }],
  ["Adam", finite, (v) => {
    const m = model();
    const opt = new optimizers.Adam().setup(m);
    F.sum(m.apply(X())).backward();
    opt.alpha = v;
    opt.update();
  }],
  // data
  ["DataLoader", never, (v) => new DataLoader(v, 2)],
  ["DataLoader", (v) => dim(v) && v !== 0, (v) => new DataLoader(spiral(), v)],
  ["DataLoader", bool, (v) => new DataLoader(spiral(), 2, v)],
  ["Spiral", empty, (v) => new datasets.Spiral(v)],
  ["Spiral", bool, (v) => new datasets.Spiral({ train: v })],
  ["Spiral", or(fn, nil), (v) => new datasets.Spiral({ transform: v }).get(0)],
  ["Spiral.get", int, (v) => spiral().get(v)],
  ["Dataset", never, (v) => new dz.Dataset(v, dz.zeros([2]))],
  ["DataLoader", fn, (v) => {
    const ds = new dz.Dataset(dz.zeros([4, 2]), dz.zeros([4]));
    ds.get = v;
    return [...new DataLoader(ds, 2)];
  }],
  ["jit", fn, (v) => dz.jit(v)],
  ["jit", empty, (v) => dz.jit(() => 0, v)],
  ["jit", (v) => dim(v) && v !== 0, (v) => dz.jit(() => 0, { maxCache: v })],
];

/** How a case ended. */
export type Outcome =
  | "accepted" // ran, and the slot takes the value
  | "clear" // a TypeError/RangeError naming the function
  | "unclear" // another error, or one that does not name the function
  | "silent" // ran, though the slot does not take the value
  | "injected"; // the value's code ran (or it was coerced)

/** The outcome of `call` for the value `v` of a slot of function `name`, and the error if any. */
export function outcome(
  name: string,
  accepts: Accepts,
  call: () => unknown,
  v: unknown,
): { outcome: Outcome; error?: unknown } {
  touched = 0;
  let error: unknown = null;
  try {
    call();
  } catch (e) {
    error = e;
  }
  if (g.pwned !== undefined || touched > 0) {
    delete g.pwned;
    return { outcome: "injected", error };
  }
  if (error === null) return { outcome: accepts(v) ? "accepted" : "silent" };
  const clear = (error instanceof TypeError || error instanceof RangeError) &&
    error.message.includes(name) &&
    !/is not a function|Cannot read properties|is not iterable|Invalid typed array length/.test(
      error.message,
    );
  return { outcome: clear ? "clear" : "unclear", error };
}

/** A case run eagerly, or inside a jitted function called twice (so a compiled replay runs). */
export function runCase(
  [name, accepts, call]: [string, Accepts, (v: Any) => unknown],
  v: unknown,
  jitted: boolean,
): { outcome: Outcome; error?: unknown } {
  if (!jitted) return outcome(name, accepts, () => call(v), v);
  const step = dz.jit(() => {
    const r = call(v);
    return r instanceof dz.Variable || r instanceof dz.NDArray ? r : undefined;
  });
  return outcome(name, accepts, () => (step(), step()), v);
}
