/**
 * tools/cpuprofile.ts: self and inclusive times of a small hand-made profile.
 * @module
 */
import assert from "node:assert/strict";
import { summarize } from "../tools/cpuprofile.ts";

const frame = (functionName: string, lineNumber: number) => ({
  functionName,
  url: "file:///x/jit/tape.ts",
  lineNumber,
});

Deno.test("cpuprofile: self time per function, inclusive time counted once per sample", () => {
  // (root) -> a -> b -> a (a recursing through b)
  const profile = {
    nodes: [
      { id: 1, callFrame: frame("", 0), children: [2] },
      { id: 2, callFrame: frame("a", 9), children: [3] },
      { id: 3, callFrame: frame("b", 19), children: [4] },
      { id: 4, callFrame: frame("a", 9) },
    ],
    // sample i lasts timeDeltas[i + 1] µs: b 10, a 20, a (inside b) 30, (root) 0
    samples: [3, 2, 4, 1],
    timeDeltas: [0, 10, 20, 30],
  };
  const { total, self, inclusive, stacks } = summarize(profile);
  assert.deepEqual(total, 60);
  assert.deepEqual(self.get("a jit/tape.ts:10"), 50);
  assert.deepEqual(self.get("b jit/tape.ts:20"), 10);
  assert.deepEqual(inclusive.get("a jit/tape.ts:10"), 60);
  assert.deepEqual(inclusive.get("b jit/tape.ts:20"), 40);
  assert.deepEqual(inclusive.get("(anonymous) jit/tape.ts:1"), 60);
  assert.deepEqual(stacks[2], [[
    "a jit/tape.ts:10",
    "b jit/tape.ts:20",
    "a jit/tape.ts:10",
    "(anonymous) jit/tape.ts:1",
  ], 30]);
});
