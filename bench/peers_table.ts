/**
 * Runs bench/peers.ts eager and with `--jit`, and bench/peers_numpy.py
 * single-threaded twice (stock, and with glibc keeping freed memory) when
 * python3 has numpy, or reads saved JSON lines given as arguments; prints our
 * figures beside those same-run numpy figures and the peers' figures of
 * BASELINE.md (measured on another machine of this kind) as a markdown table.
 * Run: `deno task bench:peers`.
 * @module
 */
import { fileURLToPath } from "node:url";

/** One line of bench/peers.ts's or bench/peers_numpy.py's output. */
interface PeerLine {
  peer: string;
  info?: { malloc_kept?: boolean };
  results: Record<string, Record<string, number | string>>;
}

/** A table row: one of our result keys and the peers' figures for it. */
interface Row {
  figure: string;
  workload: string;
  key: string;
  digits: number;
  target: string;
  /**
   * numpy, numpy single-thread, DeZero, torch single-thread, tfjs-cpu, tfjs-wasm: the shared
   * bench/BASELINE.md of 2026-12-02 (median of passes, or pass 1 / pass 2).
   */
  peers: [string, string, string, string, string, string];
}

const ROWS: Row[] = [
  {
    figure: "W1 chain fwd+bwd, ms",
    workload: "W1",
    key: "ms",
    digits: 1,
    target: "<= numpy (jit)",
    peers: ["7.9", "7.6", "74.8", "33.6", "410.1", "123.2"],
  },
  ...([
    [128, [
      "0.3 / 79.6",
      "99.1 / 101.4",
      "112.1 / 113.5",
      "100.5 / 98.2",
      "1.2 / 1.1",
      "25.8 / 37.7",
    ]],
    [256, [
      "150.5 / 150.7",
      "98.9 / 107.6",
      "1.4 / 168.7",
      "102.8 / 103.5",
      "0.7 / 1.1",
      "27.0 / 37.5",
    ]],
    [512, [
      "49.8 / 170.2",
      "95.0 / 105.1",
      "11.2 / 207.8",
      "102.3 / 99.4",
      "1.0 / 0.9",
      "27.4 / 35.7",
    ]],
    [1024, [
      "53.7 / 186.8",
      "95.1 / 101.2",
      "53.7 / 87.0",
      "101.0 / 98.5",
      "0.7 / 0.7",
      "26.8 / 36.4",
    ]],
  ] as const).map(([n, peers]): Row => ({
    figure: `W2 matmul n=${n}, GFLOP/s`,
    workload: "W2",
    key: `n${n}_gflops`,
    digits: 2,
    target: n === 128 ? ">= 15" : n === 512 ? ">= 35" : "",
    peers: [...peers],
  })),
  {
    figure: "W3 spiral epoch, ms",
    workload: "W3",
    key: "ms_per_epoch",
    digits: 3,
    target: "<= 0.35 (jit)",
    peers: ["0.35", "0.37", "1.70", "0.85", "7.84", "6.19"],
  },
  {
    figure: "W4 linreg run, ms",
    workload: "W4",
    key: "ms",
    digits: 3,
    target: "<= 0.6 (jit)",
    peers: ["0.96", "1.17", "11.49", "4.50", "24.78", "14.94"],
  },
  {
    figure: "W5 MLP step, ms",
    workload: "W5",
    key: "ms",
    digits: 1,
    target: "<= 45 / <= 30",
    peers: ["42.8", "9.3", "72.3", "10.0", "766.2", "212.4"],
  },
  {
    figure: "W6 tiny op, µs/op",
    workload: "W6",
    key: "us_per_op",
    digits: 2,
    target: "<= 2 / <= 0.3",
    peers: ["1.3", "1.6", "18.2", "7.4", "36.8", "28.6"],
  },
  {
    // tfjs-wasm has no Conv2DBackpropFilter kernel
    figure: "W7 CNN step, ms",
    workload: "W7",
    key: "ms",
    digits: 1,
    target: "<= 160 (jit)", // 3x torch
    peers: ["222.2", "-", "665.6", "53.5", "20461", "error"],
  },
  {
    figure: "W8 LSTM BPTT window, ms",
    workload: "W8",
    key: "ms",
    digits: 1,
    target: "<= 12.9 (jit)",
    peers: ["12.0", "-", "35.5", "12.9", "503.5", "121.7"],
  },
];

/** Sanity values all peers agree on (BASELINE.md). */
const SANITY: [string, string, string][] = [
  ["W1", "y", "-16387.27"],
  ["W1", "grad_sum", "974457.2"],
  ["W3", "loss_epoch1", "1.09812"],
  ["W3", "final_loss", "0.12085"],
  ["W4", "W", "2.1181"],
  ["W4", "b", "5.4661"],
  ["W4", "final_loss", "0.07909"],
  ["W5", "loss0", "2.40126"],
  ["W6", "grad", "7.0"],
  ["W7", "loss0", "2.48561"],
  ["W7", "loss1", "2.32846"],
  ["W8", "loss0", "4.86374"],
  ["W8", "loss1", "3.91222"],
];

/** The glibc settings that keep freed memory in the process (numpy's "malloc kept" run). */
const MALLOC_KEPT: Record<string, string> = {
  MALLOC_MMAP_THRESHOLD_: "268435456",
  MALLOC_TRIM_THRESHOLD_: "1073741824",
  MALLOC_TOP_PAD_: "268435456",
};

/** Runs `cmd` with `args` (and `env` as its whole environment, if given); its stdout. */
async function runLine(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: env !== undefined,
    stdout: "piped",
    stderr: "inherit", // progress
  }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} exited ${out.code}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** Runs bench/peers.ts in a fresh process. */
function runPeers(jit: boolean): Promise<string> {
  const script = fileURLToPath(new URL("./peers.ts", import.meta.url));
  return runLine(Deno.execPath(), ["run", "-A", script, ...(jit ? ["--jit"] : [])]);
}

/** Whether `python3 -c "import numpy"` works. */
async function hasNumpy(): Promise<boolean> {
  try {
    const cmd = new Deno.Command("python3", { args: ["-c", "import numpy"], stderr: "null" });
    return (await cmd.output()).success;
  } catch {
    return false; // no python3
  }
}

/** Runs bench/peers_numpy.py single-threaded, with glibc's stock settings or MALLOC_KEPT. */
function runNumpy(kept: boolean): Promise<string> {
  const script = fileURLToPath(new URL("./peers_numpy.py", import.meta.url));
  const env = Deno.env.toObject();
  for (const k of Object.keys(MALLOC_KEPT)) delete env[k];
  return runLine("python3", [script], {
    ...env,
    OPENBLAS_NUM_THREADS: "1",
    ...(kept ? MALLOC_KEPT : {}),
  });
}

/** The figure for `key` of `workload` in `line` (a peer's JSON line), formatted. */
function cell(line: PeerLine | undefined, workload: string, key: string, digits?: number): string {
  const r = line?.results[workload];
  if (r === undefined) return "-";
  if ("error" in r) return `error: ${r.error}`;
  const v = r[key];
  if (typeof v !== "number") return "-";
  return digits === undefined ? String(Number(v.toPrecision(8))) : v.toFixed(digits);
}

/** The markdown tables of figures and sanity values; `note` goes under the legend. */
function tables(lines: PeerLine[], note: string): string {
  const eager = lines.find((l) => l.peer === "dezero.ts");
  const jit = lines.find((l) => l.peer === "dezero.ts-jit");
  const numpy = lines.filter((l) => l.peer.startsWith("numpy"));
  const numpyNames = numpy.map((l) =>
    `${l.peer.replace("-", " ")} ${l.info?.malloc_kept ? "malloc kept" : "stock"}`
  );
  const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const head = (cells: string[]) => [row(cells), row(cells.map(() => "---"))];
  const ours = (w: string, key: string, digits?: number) =>
    [eager, jit, ...numpy].map((l) => cell(l, w, key, digits));
  const out = [
    "Same run: dezero.ts, dezero.ts-jit" + numpyNames.map((n) => `, ${n}`).join("") +
    ". BL: the shared bench/BASELINE.md (2026-12-02, measured on another machine of this kind).",
    ...(note ? ["", note] : []),
    "",
    ...head([
      "figure",
      "dezero.ts",
      "dezero.ts-jit",
      ...numpyNames,
      "target",
      ...["numpy", "numpy 1t", "DeZero", "torch 1t", "tfjs-cpu", "tfjs-wasm"].map((p) => `BL ${p}`),
    ]),
    ...ROWS.map((r) => row([r.figure, ...ours(r.workload, r.key, r.digits), r.target, ...r.peers])),
    "",
    ...head(["sanity", "dezero.ts", "dezero.ts-jit", ...numpyNames, "BL peers"]),
    ...SANITY.map(([w, key, want]) => row([`${w} ${key}`, ...ours(w, key), want])),
  ];
  return out.join("\n");
}

/**
 * Collects the JSON lines (from the files given, else fresh runs: ours eager
 * and jit, then numpy stock and malloc kept when python3 has numpy) and
 * prints the tables.
 */
async function main(): Promise<void> {
  let texts: string[];
  let note = "";
  if (Deno.args.length) {
    texts = await Promise.all(Deno.args.map((f) => Deno.readTextFile(f)));
  } else {
    texts = [await runPeers(false), await runPeers(true)];
    if (await hasNumpy()) texts.push(await runNumpy(false), await runNumpy(true));
    else note = 'Same-run numpy columns omitted: `python3 -c "import numpy"` failed.';
  }
  const lines = texts.flatMap((t) => t.split("\n")).filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as PeerLine);
  if (!Deno.args.length) { for (const l of lines) console.log(JSON.stringify(l)); }
  console.log("\n" + tables(lines, note));
}

if (import.meta.main) await main();
