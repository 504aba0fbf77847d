/**
 * Layers for sequences, DeZero's step 59-60 layers: the recurrent RNN and
 * LSTM, which carry a hidden state from call to call, and EmbedID, which
 * looks up rows of a matrix by integer ids.
 * @module
 */
import { readState, writeState } from "../core/hooks.ts";
import { randn } from "../core/array/random.ts";
import { Parameter, type Variable } from "../core/autograd/variable.ts";
import { add, mul, sigmoid, tanh } from "../ops/elementwise.ts";
import { embedId } from "../ops/indexing.ts";
import { fmtShape, MAX_SIZE } from "../core/array/shape_rules.ts";
import { checkInt, checkOptions } from "../core/validate.ts";
import { Layer, Linear } from "./layer.ts";

/** Throws unless the size `name` given to `layer` is a positive integer. */
function checkSize(layer: string, name: string, n: number): void {
  checkInt(n, layer, name, 1, MAX_SIZE);
}

/** Options of `RNN` and `LSTM`. */
export interface RecurrentOptions {
  /** Input size; when omitted, taken from the first input (as Linear's). */
  inSize?: number;
}

/** Throws unless `x` is one time step of a batch, `[N, inSize]`. */
function checkStep(layer: string, x: Variable): void {
  if (x.ndim !== 2) {
    throw new RangeError(
      `${layer}: a time step's input must be [N, inSize], got shape ${fmtShape(x.shape)}`,
    );
  }
}

/** Checks a recurrent layer's sizes and options; returns `inSize`. */
function checkRecurrent(
  layer: string,
  hiddenSize: number,
  options: RecurrentOptions | undefined,
): number | undefined {
  const { inSize } = checkOptions(options, layer, ["inSize"]);
  checkSize(layer, "hiddenSize", hiddenSize);
  if (inSize !== undefined) checkSize(layer, "inSize", inSize);
  return inSize;
}

/**
 * Elman RNN (DeZero's `RNN`): `h = tanh(x2h(x) + h2h(h))`, or
 * `tanh(x2h(x))` while there is no state. The new `h` is both the output and
 * the state the next call reads, until `resetState()`; the state goes
 * through `readState`/`writeState`, so a jitted step carries it too. `h2h`
 * is sized by `hiddenSize` (DeZero gives it `in_size`, wrong when the sizes
 * differ; with `inSize` omitted both draw the same numbers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L, random } from "@dezero/dezero-ts";
 * const rnn = new L.RNN(10);
 * const h1 = rnn.apply(random.rand(1, 1)); // no state yet: tanh(x2h(x))
 * const h2 = rnn.apply(random.rand(1, 1)); // tanh(x2h(x) + h2h(h1))
 * assert.deepEqual(h1.shape, [1, 10]);
 * assert.equal(rnn.h, h2);
 * rnn.resetState();
 * assert.equal(rnn.h, null);
 * ```
 */
export class RNN extends Layer {
  /** Input-to-hidden Linear (W [inSize, hiddenSize], b). */
  x2h: Linear;
  /** Hidden-to-hidden Linear without bias (W [hiddenSize, hiddenSize]). */
  h2h: Linear;
  /** The hidden state (the last output), or null. */
  h: Variable | null = null;

  /** An RNN with `hiddenSize` features of state. */
  constructor(hiddenSize: number, options?: RecurrentOptions) {
    super();
    const inSize = checkRecurrent("RNN", hiddenSize, options);
    this.x2h = new Linear(hiddenSize, { inSize });
    this.h2h = new Linear(hiddenSize, {
      inSize: inSize === undefined ? undefined : hiddenSize,
      nobias: true,
    });
  }

  /** Forgets the hidden state: the next call starts afresh. */
  resetState(): void {
    writeState(this, "h", null);
  }

  /** One time step: the new hidden state. */
  forward(x: Variable): Variable {
    checkStep("RNN", x);
    const h = readState(this, "h");
    const hNew = tanh(h === null ? this.x2h.apply(x) : add(this.x2h.apply(x), this.h2h.apply(h)));
    writeState(this, "h", hNew);
    return hNew;
  }
}

/**
 * Long short-term memory (DeZero's `LSTM`), gates from eight Linears in
 * DeZero's order and names: `f, i, o = sigmoid(x2*(x) + h2*(h))`,
 * `u = tanh(x2u(x) + h2u(h))`, `c = f * c + i * u`, `h = o * tanh(c)`; the
 * `h2*` terms and `f * c` are left out while there is no state. `h` is the
 * output; `h` and `c` are carried to the next call until `resetState()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L, random } from "@dezero/dezero-ts";
 * const lstm = new L.LSTM(100);
 * const h = lstm.apply(random.rand(30, 1));
 * assert.deepEqual([h.shape, lstm.c!.shape], [[30, 100], [30, 100]]);
 * lstm.resetState();
 * assert.deepEqual([lstm.h, lstm.c], [null, null]);
 * ```
 */
export class LSTM extends Layer {
  /** Input to forget gate. */
  x2f: Linear;
  /** Input to input gate. */
  x2i: Linear;
  /** Input to output gate. */
  x2o: Linear;
  /** Input to candidate cell. */
  x2u: Linear;
  /** Hidden state to forget gate (no bias). */
  h2f: Linear;
  /** Hidden state to input gate (no bias). */
  h2i: Linear;
  /** Hidden state to output gate (no bias). */
  h2o: Linear;
  /** Hidden state to candidate cell (no bias). */
  h2u: Linear;
  /** The hidden state (the last output), or null. */
  h: Variable | null = null;
  /** The cell state, or null. */
  c: Variable | null = null;

  /** An LSTM with `hiddenSize` features of state. */
  constructor(hiddenSize: number, options?: RecurrentOptions) {
    super();
    const inSize = checkRecurrent("LSTM", hiddenSize, options);
    const H = hiddenSize;
    this.x2f = new Linear(H, { inSize });
    this.x2i = new Linear(H, { inSize });
    this.x2o = new Linear(H, { inSize });
    this.x2u = new Linear(H, { inSize });
    this.h2f = new Linear(H, { inSize: H, nobias: true });
    this.h2i = new Linear(H, { inSize: H, nobias: true });
    this.h2o = new Linear(H, { inSize: H, nobias: true });
    this.h2u = new Linear(H, { inSize: H, nobias: true });
  }

  /** Forgets `h` and `c`: the next call starts afresh. */
  resetState(): void {
    writeState(this, "h", null);
    writeState(this, "c", null);
  }

  /** One time step: the new hidden state. */
  forward(x: Variable): Variable {
    checkStep("LSTM", x);
    const h = readState(this, "h"), c = readState(this, "c");
    const gate = (x2: Linear, h2: Linear) =>
      h === null ? x2.apply(x) : add(x2.apply(x), h2.apply(h));
    const f = sigmoid(gate(this.x2f, this.h2f));
    const i = sigmoid(gate(this.x2i, this.h2i));
    const o = sigmoid(gate(this.x2o, this.h2o));
    const u = tanh(gate(this.x2u, this.h2u));
    const cNew = c === null ? mul(i, u) : add(mul(f, c), mul(i, u));
    const hNew = mul(o, tanh(cNew));
    writeState(this, "h", hNew);
    writeState(this, "c", cNew);
    return hNew;
  }
}

/**
 * Embedding (DeZero's `EmbedID`): `apply(ids)` is `W[ids]`, the rows of
 * `W` [inSize, outSize] (float64, drawn as DeZero's `randn(inSize, outSize)`)
 * picked by the int32 ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F, L } from "@dezero/dezero-ts";
 * const embed = new L.EmbedID(1000, 16);
 * const y = embed.apply(array([[3, 14], [15, 92]]));
 * assert.deepEqual(y.shape, [2, 2, 16]);
 * assert.deepEqual(F.getItem(y, [0, 1]).data.toArray(), F.getItem(embed.W, 14).data.toArray());
 * ```
 */
export class EmbedID extends Layer {
  /** The embedding matrix, [inSize, outSize]. */
  W: Parameter;

  /** `inSize` ids, each mapped to `outSize` features. */
  constructor(inSize: number, outSize: number) {
    super();
    checkSize("EmbedID", "inSize", inSize);
    checkSize("EmbedID", "outSize", outSize);
    this.W = new Parameter(randn(inSize, outSize), "W");
  }

  /** The rows of W picked by `ids`. */
  forward(ids: Variable): Variable {
    return embedId(ids, this.W);
  }
}
