/**
 * The CSP page's training loop over an exported step, in plain JavaScript:
 * no library, no eval. The Deno test runs this very loop on the same
 * module and compares the page's final loss with its own, bit for bit.
 * @module
 */

/** The batch size the exported step was traced with. */
export const BATCH = 30;

/**
 * The order of the examples in `epoch`: a Fisher-Yates shuffle driven by
 * xorshift32 seeded with the epoch (integer arithmetic, the same in every
 * engine).
 */
export function order(n, epoch) {
  const idx = Array.from({ length: n }, (_, i) => i);
  let s = (epoch + 1) * 0x9e3779b9 >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/**
 * One epoch of `step(x, t)` over `data` ({ x: [x0, y0, x1, y1, ...], t:
 * labels }) in batches of BATCH; returns the mean loss.
 */
export function trainEpoch(step, data, epoch) {
  const n = data.t.length, idx = order(n, epoch);
  const x = new Float32Array(2 * BATCH), t = new Int32Array(BATCH);
  let sum = 0;
  for (let b = 0; b + BATCH <= n; b += BATCH) {
    for (let k = 0; k < BATCH; k++) {
      const i = idx[b + k];
      x[2 * k] = data.x[2 * i];
      x[2 * k + 1] = data.x[2 * i + 1];
      t[k] = data.t[i];
    }
    sum += step(x, t).data[0] * BATCH;
  }
  return sum / n;
}

/** The share of rows of `scores` ({ shape: [n, c], data }) whose largest entry is at label t[i]. */
export function accuracy(scores, t) {
  const [n, c] = scores.shape;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (scores.data[i * c + j] > scores.data[i * c + best]) best = j;
    if (best === t[i]) right++;
  }
  return right / n;
}
