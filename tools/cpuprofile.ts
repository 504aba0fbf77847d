/**
 * Summarizes a V8 `.cpuprofile` (what `deno run --cpu-prof` writes): the
 * functions with the most self time and the most inclusive time (a
 * function counted once per sample however deep it recurses), and with
 * `--callers NAME` who calls NAME, one to three frames up. Generated code
 * (a tape's kernels `k0`, `k1`, ...) shows as its function name and line.
 *
 * Run:
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=prof bench/peers.ts --jit   # WORKLOADS=W8 for one
 * deno run --allow-read tools/cpuprofile.ts prof/*.cpuprofile [--top 30] [--callers gemm]
 * ```
 * @module
 */

/** A node of the profile's call tree. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The parts of a `.cpuprofile` read here. */
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Time (µs) per key, the largest first, `top` of them. */
function largest(m: Map<string, number>, top: number): [string, number][] {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
}

/** Self and inclusive time per function, and each sample's stack of function keys. */
export function summarize(p: Profile): {
  total: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
  stacks: [string[], number][];
} {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<number, number>(); // node -> µs of the samples that ended in it
  p.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0)));
  const key = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const where = f.url.replace(/^file:\/\/.*?\/(?=(core|jit|nn|ops|bench|tests|examples)\/)/, "");
    return `${f.functionName || "(anonymous)"} ${where}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>(), inclusive = new Map<string, number>();
  const stacks: [string[], number][] = [];
  let total = 0;
  for (const [id, t] of time) {
    total += t;
    const stack: string[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(key(x));
    stacks.push([stack, t]);
    self.set(stack[0], (self.get(stack[0]) ?? 0) + t);
    for (const k of new Set(stack)) inclusive.set(k, (inclusive.get(k) ?? 0) + t);
  }
  return { total, self, inclusive, stacks };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args.splice(i, 2)[1];
  };
  const top = Number(option("--top") ?? 30);
  const callers = option("--callers");
  if (args.length === 0 || !Number.isInteger(top) || top < 1) {
    console.error("usage: tools/cpuprofile.ts FILE.cpuprofile... [--top N] [--callers NAME]");
    Deno.exit(2);
  }
  for (const file of args) {
    const { total, self, inclusive, stacks } = summarize(JSON.parse(Deno.readTextFileSync(file)));
    const line = ([k, t]: [string, number]) =>
      `${(100 * t / total).toFixed(1).padStart(5)}% ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}`;
    console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
    console.log("-- self time");
    for (const e of largest(self, top)) console.log(line(e));
    console.log("-- inclusive time");
    for (const e of largest(inclusive, top)) console.log(line(e));
    if (callers === undefined) continue;
    for (const depth of [1, 2, 3]) {
      const by = new Map<string, number>();
      for (const [stack, t] of stacks) {
        const at = stack.findIndex((k) => k.startsWith(`${callers} `));
        if (at < 0) continue;
        const k = stack.slice(at + 1, at + 1 + depth).join(" <- ");
        by.set(k, (by.get(k) ?? 0) + t);
      }
      console.log(`-- callers of ${callers}, ${depth} frame(s) up`);
      for (const e of largest(by, top)) console.log(line(e));
    }
  }
}
