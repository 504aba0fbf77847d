/**
 * Tests of the examples' command lines (examples/args.ts): every example
 * answers `--help` with its usage and exit code 0, and stops with exit code
 * 2 and the usage on a misspelt flag, a stray argument or a bad `--epochs`,
 * before it trains or writes anything; the CNN, GAN and VAE examples run
 * briefly (a few digits) and write their pictures. Each case runs the
 * example in a subprocess.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const EXAMPLES = [
  "linreg.ts",
  "nn_sin.ts",
  "spiral.ts",
  "mnist.ts",
  "rnn_sin.ts",
  "mnist_cnn.ts",
  "gan.ts",
  "vae.ts",
];

/**
 * Runs `examples/name` with `args` in an empty directory; returns exit code,
 * output, the number of files written and the `[width, height]` of each PNG
 * (read from its IHDR chunk).
 */
async function run(name: string, args: string[]) {
  const cwd = await Deno.makeTempDir({ prefix: "dezero-example-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}examples/${name}`, ...args],
      cwd,
      env: { NO_COLOR: "1" },
    }).output();
    const [stdout, stderr] = [out.stdout, out.stderr].map((b) => new TextDecoder().decode(b));
    const names = [...Deno.readDirSync(cwd)].map((e) => e.name).sort();
    const pngs: Record<string, number[]> = {};
    for (const name of names.filter((n) => n.endsWith(".png"))) {
      const bytes = await Deno.readFile(`${cwd}/${name}`);
      const view = new DataView(bytes.buffer);
      assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${name} is a PNG`);
      pngs[name] = [view.getUint32(16), view.getUint32(20)];
    }
    return { code: out.code, stdout, stderr, files: names.length, names, pngs };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

for (const name of EXAMPLES) {
  Deno.test(`examples/${name} answers --help and refuses an unknown flag`, async () => {
    const help = await run(name, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`Usage: deno run -A examples/${name} \\[options\\]`));
    assert.match(help.stdout, /-h, --help {6}show this text and exit/);
    assert.match(help.stdout, /--epochs N {6}train for N epochs \(default \d+\)/);

    const typo = await run(name, ["--eagre"]);
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, ""); // nothing trained
    assert.match(
      typo.stderr,
      new RegExp(`^${name}: Unknown option '--eagre'[^\n]*\n\n[^\n]+\n\nUsage:`),
    );
    assert.equal(typo.files, 0);
  });
}

Deno.test("examples take --eager and --data only where they use them; --epochs must be a positive integer", async () => {
  const help = (await run("mnist.ts", ["-h"])).stdout;
  assert.match(help, /--eager {9}train eagerly, without the JIT/);
  assert.match(help, /--data DIR {6}read the digits from IDX files in DIR/);
  assert.doesNotMatch((await run("spiral.ts", ["--help"])).stdout, /--data/);
  const linreg = await run("linreg.ts", ["--eager"]); // linreg never uses the JIT
  assert.equal(linreg.code, 2);
  assert.match(linreg.stderr, /Unknown option '--eager'/);

  for (const bad of ["0", "-3", "2.5", "ten", ""]) {
    const r = await run("linreg.ts", [`--epochs=${bad}`]);
    assert.equal(r.code, 2, bad);
    assert.match(
      r.stderr,
      new RegExp(`^linreg.ts: --epochs must be a positive integer, got '${bad}'`),
    );
  }
  const stray = await run("nn_sin.ts", ["500"]);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /Unexpected argument '500'/);

  // --epochs sets the number of full-batch steps: linreg prints one line per step
  const three = await run("linreg.ts", ["--epochs", "3"]);
  assert.equal(three.code, 0);
  assert.equal(three.stdout.trim().split("\n").length, 3);
});

Deno.test("examples/rnn_sin.ts takes --model rnn|lstm and --jit step|window, and refuses other values", async () => {
  const help = (await run("rnn_sin.ts", ["--help"])).stdout;
  assert.match(help, /--model rnn\|lstm {2}SimpleRNN or BetterRNN \(LSTM\) \(default rnn\)/);
  assert.match(help, /--jit step\|window {2}jit a time step or a whole window \(default step\)/);
  const gru = await run("rnn_sin.ts", ["--model", "gru"]);
  assert.equal(gru.code, 2);
  assert.match(gru.stderr, /^rnn_sin.ts: --model must be rnn or lstm, got 'gru'/m);
  assert.equal(gru.files, 0);
});

Deno.test("examples/mnist_cnn.ts trains on a few digits with the jit (no fallback) and writes its pictures", async () => {
  const r = await run("mnist_cnn.ts", ["--epochs", "1", "--digits", "200"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /200 train \/ 2000 test digits, jit/);
  assert.match(
    r.stdout,
    /epoch 1 {2}train loss \d\.\d{4} {2}test accuracy 0\.\d{4} {2}[\d.]+ s\/epoch/,
  );
  assert.match(r.stdout, /jit: \d trace\(s\), \d+ kernels, 0 eager fallbacks/);
  assert.deepEqual(r.names, ["mnist_cnn.svg", "mnist_cnn_errors.svg"]);
});

Deno.test("examples/gan.ts runs an iteration of DeZero's DCGAN with the jit (no fallback) and writes a 5x5 grid", async () => {
  const r = await run("gan.ts", ["--digits", "128"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /epoch 1 {2}loss_g \d\.\d{4} {2}loss_d \d\.\d{4} {2}1 iterations/);
  assert.match(r.stdout, /jit: 1 trace\(s\), \d+ kernels, 0 eager fallbacks/);
  // 25 digits, 5 per row, 56 pixels each (scaled 2x) with 2-pixel gaps
  assert.deepEqual(r.pngs, { "gan_1.png": [292, 292] });
  // fewer digits than a batch would train nothing: gan.py skips partial batches
  const few = await run("gan.ts", ["--digits", "127"]);
  assert.equal(few.code, 2);
  assert.match(few.stderr, /^gan.ts: --digits must be 0 or at least 128, got 127/m); // after any npm download lines
  assert.equal(few.files, 0);
});

Deno.test("examples/vae.ts runs DeZero's VAE on a few digits with the jit and writes the latent grid and reconstructions", async () => {
  const r = await run("vae.ts", ["--digits", "16"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 epoch\(s\) over 16 digits, jit/);
  assert.match(r.stdout, /epoch 1 {2}loss \d+\.\d{4}/);
  assert.match(r.stdout, /jit: \d trace\(s\), \d+ kernels, 0 eager fallbacks/);
  // 15 x 15 digits of 28 pixels; 2 rows of 10 digits of 56 pixels; 2-pixel gaps
  assert.deepEqual(r.pngs, {
    "vae_1.png": [452, 452],
    "vae_1_rec.png": [582, 118],
  });
});
