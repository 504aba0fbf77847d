"""numpy by hand on the shared workloads W1, W2, W5 and W8 (WORKLOADS.md), so that numpy's time is
measured in the same run as bench/peers.ts instead of read from BASELINE.md (another machine).

Run it single-threaded, stock and with glibc keeping freed memory (on this VM a page fault costs
~10 us, and the stock allocator returns each big temporary to the OS and faults it in again):

    OPENBLAS_NUM_THREADS=1 python3 bench/peers_numpy.py
    OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        MALLOC_TOP_PAD_=268435456 python3 bench/peers_numpy.py

`deno task bench:peers` runs both. `WORKLOADS=W1,W5` runs a subset. One JSON line on stdout,
`{"peer": "numpy-1t" (OPENBLAS_NUM_THREADS=1) or "numpy", "info": {...}, "results": {...}}`,
progress on stderr. Same data generators as bench/peers.ts (checked bit for bit against
bench/data/checks.json, except W3's batch orders, which no workload here uses), same timing rule
(`measure`), float32 throughout:
- W1: the elementwise chain, its backward written op by op as an unfused autograd runs it;
- W2: `A @ B` for n = 128..1024;
- W5: one SGD step of the 784-1000-10 relu MLP, softmax cross entropy, backward by hand;
- W8: one truncated-BPTT window of the LSTM in DeZero's gate layout (four gates, separate
  matmuls), backward by hand through the 30 steps, DeZero's Adam.
"""

import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"

# ---------------------------------------------------------------- data


def hash32(x):
    """lowbias32 on a uint32 array (numpy's uint32 array arithmetic wraps mod 2^32)."""
    x = np.array(x, dtype=np.uint32, ndmin=1)
    x ^= x >> 16
    x *= np.uint32(0x7FEB352D)
    x ^= x >> 15
    x *= np.uint32(0x846CA68B)
    x ^= x >> 16
    return x


def u32(seed, n):
    """`u32(seed, i)` for i < n."""
    return hash32(hash32(seed) + np.arange(n, dtype=np.uint32))


def uniform(seed, n):
    """`uniform(seed, i) = (u32(seed, i) >> 8) * 2^-24` for i < n, float64."""
    return (u32(seed, n) >> 8) * 2.0**-24


def symmetric(seed, n, scale=1.0):
    """`float32(scale * (2 * uniform(seed, i) - 1))` for i < n (float64 math, one rounding)."""
    return ((2 * uniform(seed, n) - 1) * scale).astype(np.float32)


def init_weight(seed, fan_in, fan_out):
    """`init_weight(seed, fan_in, fan_out)`, `[fan_in, fan_out]`."""
    return symmetric(seed, fan_in * fan_out, math.sqrt(3 / fan_in)).reshape(fan_in, fan_out)


def w5_batch():
    """W5's batch: `x = float32(uniform(51, i))` [256, 784], `t = u32(52, i) mod 10`."""
    x = uniform(51, 256 * 784).astype(np.float32).reshape(256, 784)
    return x, (u32(52, 256) % 10).astype(np.intp)


def check_generators():
    """Raises unless the generators reproduce checks.json bit for bit."""
    checks = json.loads((DATA / "checks.json").read_text())
    w1x = symmetric(1, 1000 * 1000)
    w5x, w5t = w5_batch()
    got = {
        "hash32_0_to_3": hash32([0, 1, 2, 3]),
        "rand_u32_seed7_first4": u32(7, 4),
        "uniform_seed7_first4": uniform(7, 4),
        "w1_x_first4": w1x[:4],
        "w1_x_sum_f64": w1x.sum(dtype=np.float64),
        "w2_a128_first4": symmetric(2000 + 128, 4),
        "w3_W1": init_weight(31, 2, 10).ravel(),
        "w3_W2_first4": init_weight(32, 10, 3).ravel()[:4],
        "w5_x_first4": w5x.ravel()[:4],
        "w5_t_first10": w5t[:10],
        "w5_W1_first4": init_weight(53, 784, 1000).ravel()[:4],
        "w5_W2_first4": init_weight(54, 1000, 10).ravel()[:4],
    }
    for key, have in got.items():
        have = np.asarray(have, dtype=np.float64)
        if not np.array_equal(have, np.asarray(checks[key], dtype=np.float64)):
            raise ValueError(f"data generator mismatch in {key}: got {have.tolist()}, "
                             f"want {checks[key]}")


# ---------------------------------------------------------------- timing


def measure(fn, warmup, min_reps, max_reps, budget, prefix=""):
    """The timing rule: `warmup` untimed calls, then timed calls until `max_reps`, or until at
    least `min_reps` calls and `budget` seconds. Returns `{ms (median), min_ms, max_ms, reps}`."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {
        f"{prefix}ms": statistics.median(times),
        f"{prefix}min_ms": min(times),
        f"{prefix}max_ms": max(times),
        f"{prefix}reps": len(times),
    }


# ---------------------------------------------------------------- workloads


def w1():
    """W1: the elementwise chain on 1e6 float32, forward + backward."""
    x = symmetric(1, 1000 * 1000).reshape(1000, 1000)
    out = {}

    def step():
        # forward, one op at a time
        a = np.sin(x)
        b = a * 2
        nx = -x
        c = np.exp(nx)
        d = c**2
        e = b + d
        f = np.tanh(e)
        g = f * x
        y = g.sum()
        # backward from dy = 1, each op's backward in reverse order, gradients accumulated into x
        gg = np.broadcast_to(np.float32(1), g.shape)  # sum
        gf, gx = gg * x, gg * f  # g = f * x
        ge = gf * (1 - f * f)  # tanh
        gb, gd = ge, ge  # add
        gc = gd * (2 * c)  # c ** 2
        ga = gb * 2  # a * 2
        gnx = gc * c  # exp
        gx = gx + -gnx  # neg
        gx = gx + ga * np.cos(x)  # sin
        out["y"], out["grad"] = float(y), gx

    timing = measure(step, 2, 5, 200, 2)
    return {**timing, "y": out["y"], "grad_sum": float(out["grad"].sum(dtype=np.float64))}


def w2():
    """W2: float32 matmul forward for n = 128..1024, in ms and GFLOP/s."""
    out = {}
    for n in (128, 256, 512, 1024):
        a = symmetric(2000 + n, n * n).reshape(n, n)
        b = symmetric(3000 + n, n * n).reshape(n, n)
        big = n == 1024
        out.update(measure(lambda: a @ b, 1 if big else 3, 3 if big else 5, 500, 1, f"n{n}_"))
        out[f"n{n}_gflops"] = 2 * n**3 / (out[f"n{n}_ms"] / 1000) / 1e9
        print(f"  W2 n={n}: {out[f'n{n}_ms']:.3f} ms", file=sys.stderr)
    return out


def w5():
    """W5: one SGD step (lr 0.1) of the 784-1000-10 relu MLP on a fixed 256 batch."""
    x, t = w5_batch()
    W1, b1 = init_weight(53, 784, 1000), np.zeros(1000, np.float32)
    W2, b2 = init_weight(54, 1000, 10), np.zeros(10, np.float32)
    rows = np.arange(256)
    losses = []

    def step():
        z = x @ W1 + b1
        h = np.maximum(z, 0)
        y = h @ W2 + b2
        # mean softmax cross entropy (log-sum-exp with the row max taken out)
        m = y.max(axis=1, keepdims=True)
        e = np.exp(y - m)
        s = e.sum(axis=1, keepdims=True)
        loss = -(y - m - np.log(s))[rows, t].sum() / 256
        # backward: (softmax - onehot) / N, then the two linear layers and relu
        gy = e / s
        gy[rows, t] -= 1
        gy /= 256
        gW2, gb2 = h.T @ gy, gy.sum(axis=0)
        gz = (gy @ W2.T) * (z > 0)
        gW1, gb1 = x.T @ gz, gz.sum(axis=0)
        for p, g in ((W1, gW1), (b1, gb1), (W2, gW2), (b2, gb2)):
            p -= 0.1 * g
        losses.append(float(loss))

    return {**measure(step, 2, 5, 200, 3), "loss0": losses[0]}


def sigmoid(a):
    """DeZero's sigmoid, `tanh(a / 2) / 2 + 1/2`."""
    return np.tanh(a * 0.5) * 0.5 + 0.5


def w8():
    """W8: one 30-step truncated-BPTT window of LSTM(100) + Linear(1), batch 30, Adam."""
    T, B, N = 30, 30, 1000
    jump = N // B
    series = np.array([math.sin(2 * math.pi * k / 25) for k in range(N + 1)], dtype=np.float32)
    # gates f, i, o, u: x @ Wx[g] + bx[g] + h @ Wh[g]
    Wx = [init_weight(81 + g, 1, 100) for g in range(4)]
    bx = [np.zeros(100, np.float32) for _ in range(4)]
    Wh = [init_weight(85 + g, 100, 100) for g in range(4)]
    Wy, by = init_weight(89, 100, 1), np.zeros(1, np.float32)
    params = [*Wx, *bx, *Wh, Wy, by]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    # the run's state: zero h, c at the start give the stateless first step's values and grads
    h, c = np.zeros((B, 100), np.float32), np.zeros((B, 100), np.float32)
    step_t, updates = 0, 0
    losses = []

    def window():
        nonlocal h, c, step_t, updates
        # the window's batches, as SeqDataLoader builds them: row b of step s reads pair k
        k = (np.arange(B) * jump + (step_t + np.arange(T))[:, None]) % N
        xs, ts = series[k][..., None], series[k + 1][..., None]
        step_t += T
        # forward, keeping what the backward needs
        tape = []
        loss = None
        for s in range(T):
            x, h_prev, c_prev = xs[s], h, c
            a = [x @ Wx[g] + bx[g] + h_prev @ Wh[g] for g in range(4)]
            f, i, o, u = sigmoid(a[0]), sigmoid(a[1]), sigmoid(a[2]), np.tanh(a[3])
            c = f * c_prev + i * u
            tc = np.tanh(c)
            h = o * tc
            diff = h @ Wy + by - ts[s]
            term = (diff**2).sum() / B
            loss = term if loss is None else loss + term
            tape.append((x, h_prev, c_prev, f, i, o, u, tc, h, diff))
        # backward through the window; h, c then carry over as constants (unchained)
        grads = [np.zeros_like(p) for p in params]
        gWx, gbx, gWh, gWy, gby = grads[0:4], grads[4:8], grads[8:12], grads[12], grads[13]
        dh_next, dc_next = np.zeros_like(h), np.zeros_like(c)
        for x, h_prev, c_prev, f, i, o, u, tc, h_s, diff in reversed(tape):
            dy = diff * (2 / B)
            gWy += h_s.T @ dy
            gby += dy.sum(axis=0)
            dh = dy @ Wy.T + dh_next
            dc = dh * o * (1 - tc * tc) + dc_next
            # the gates' pre-activations: sigmoid' = y (1 - y), tanh' = 1 - y^2
            da = [dc * c_prev * f * (1 - f), dc * u * i * (1 - i),
                  dh * tc * o * (1 - o), dc * i * (1 - u * u)]
            dc_next = dc * f
            dh_next = 0
            for g in range(4):
                gWx[g] += x.T @ da[g]
                gbx[g] += da[g].sum(axis=0)
                gWh[g] += h_prev.T @ da[g]
                dh_next = dh_next + da[g] @ Wh[g].T
        # DeZero's Adam (alpha 0.001, beta1 0.9, beta2 0.999, eps 1e-8); the factor in float64
        updates += 1
        lr = 0.001 * math.sqrt(1 - 0.999**updates) / (1 - 0.9**updates)
        for p, g, m, v in zip(params, grads, ms, vs):
            m += (1 - 0.9) * (g - m)
            v += (1 - 0.999) * (g * g - v)
            p -= lr * m / (np.sqrt(v) + 1e-8)
        losses.append(float(loss))

    return {**measure(window, 2, 5, 200, 3), "loss0": losses[0], "loss1": losses[1]}


WORKLOADS = {"W1": w1, "W2": w2, "W5": w5, "W8": w8}

# sanity values every peer agrees on (WORKLOADS.md), with a tolerance
SANITY = {
    "W1": [("y", -16387.27, 1), ("grad_sum", 974457.2, 1)],
    "W5": [("loss0", 2.40126, 1e-5)],
    "W8": [("loss0", 4.863737, 2e-6), ("loss1", 3.912224, 2e-6)],
}

MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def main():
    """Runs the selected workloads and prints the JSON line."""
    check_generators()
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    peer = "numpy-1t" if threads == "1" else "numpy"
    selected = os.environ.get("WORKLOADS", ",".join(WORKLOADS)).split(",")
    selected = [s.strip() for s in selected if s.strip()]
    results = {}
    for name in selected:
        if name not in WORKLOADS:
            results[name] = {"error": f"unknown workload {name}"}
            continue
        print(f"{name} ({peer}) ...", file=sys.stderr)
        try:
            r = WORKLOADS[name]()
        except Exception as e:  # recorded, as the protocol asks
            print(f"  {name} failed: {e!r}", file=sys.stderr)
            results[name] = {"error": str(e)}
            continue
        results[name] = r
        for key, want, tol in SANITY.get(name, []):
            if not abs(r[key] - want) <= tol:
                print(f"  WARNING {name}.{key} = {r[key]}, peers have {want}", file=sys.stderr)
        print(f"  {json.dumps(r)}", file=sys.stderr)
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "blas": f"{blas['name']} {blas['version']}",
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "malloc_env": {k: os.environ.get(k) for k in MALLOC_ENV},
        "malloc_kept": all(k in os.environ for k in MALLOC_ENV),
        "cores": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }
    print(json.dumps({"peer": peer, "info": info, "results": results}))


if __name__ == "__main__":
    main()
