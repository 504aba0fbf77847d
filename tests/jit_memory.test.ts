/**
 * Memory stays bounded across retraces: a jitted function traced again and
 * again (input shapes cycling past its cache, a new number argument each
 * call) keeps the heap flat after GC, because a retraced program compiles
 * to the text it compiled before. Measured in a subprocess with
 * `--expose-gc` (tests/fixtures/retrace_heap.ts).
 * @module
 */
import assert from "node:assert/strict";

async function heapMarks(
  mode: string,
  calls: number,
): Promise<{ marks: number[]; traces: number }> {
  const script = new URL("./fixtures/retrace_heap.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script.pathname, String(calls), mode],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

for (const mode of ["shapes", "numbers"]) {
  Deno.test(`jit() retracing ${mode} 4000 times keeps the heap flat`, async () => {
    const { marks, traces } = await heapMarks(mode, 4000);
    assert.ok(traces >= 3900, `every call retraced (${traces} traces)`);
    // before tapes compiled to recurring text, V8 kept ~2.7 kB of each one: 8 MB here
    const growth = marks[3] - marks[0];
    assert.ok(growth < 1.5e6, `heap grew ${(growth / 1e6).toFixed(2)} MB over 3000 retraces`);
  });
}
