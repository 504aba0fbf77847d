/**
 * A fuzz test of the public API with hostile arguments: objects whose
 * `valueOf`/`toString` would smuggle code into generated source, strings
 * (`"3"`, `"\n3"`, a JS expression), NaN, negative, fractional, huge and
 * infinite numbers, null, booleans, bigints, symbols, functions and lists,
 * each put in every argument slot of every public function
 * (tests/hostile_cases.ts), eagerly and inside a jitted function (called
 * twice, so a compiled replay runs). Each call either does what the value
 * means (only where the slot takes it) or throws a TypeError/RangeError that
 * names the function; no hostile code runs, and no hostile object is even
 * coerced (its methods are never called).
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { ENTRIES, evil, g, HOSTILE, runCase, touched } from "./hostile_cases.ts";

Deno.test("every public function refuses hostile arguments clearly and runs none of them", () => {
  const warn = console.warn;
  console.warn = () => {};
  const failures: string[] = [];
  try {
    for (const [k, entry] of ENTRIES.entries()) {
      for (const [label, make] of HOSTILE) {
        for (const jitted of [false, true]) {
          const v = make();
          const r = runCase(entry, v, jitted);
          if (r.outcome !== "accepted" && r.outcome !== "clear") {
            const why = r.error === undefined
              ? ""
              : `: ${(r.error as Error)?.message?.split("\n")[0]}`;
            failures.push(
              `${jitted ? "jit: " : ""}${entry[0]} given ${label} (entry ${k}): ${r.outcome}${why}`,
            );
          }
        }
      }
    }
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(failures, []);
});

Deno.test("a shape of objects printing code is refused before any compiled replay", () => {
  const step = dz.jit((x: dz.Variable) => dz.F.broadcastTo(x, [2, evil() as number]));
  assert.throws(() => step(new dz.Variable([1])), /broadcastTo: invalid shape \[2,an object\]/);
  assert.throws(
    () => new dz.NDArray(new Float64Array(3), ["\n3" as unknown as number]),
    /NDArray: invalid shape \['\\n3'\]: axis 0 must be a non-negative integer, got '\\n3'/,
  );
  assert.equal(g.pwned, undefined);
  assert.equal(touched, 0);
});
