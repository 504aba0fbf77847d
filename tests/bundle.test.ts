/**
 * Tests of `deno task bundle` (tools/bundle.ts): one minified ES module of
 * mod.ts with a source map, no `node:` or `npm:` import a browser would
 * load at import time, and it trains an MLP in a Deno without permissions
 * as mod.ts does.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { bundleLibrary } from "../tools/bundle.ts";
import { trainSmallMlp } from "./fixtures/small_mlp.ts";

Deno.test("bundleLibrary() writes dist/dezero.js and its map; node: and npm: imports stay lazy", async () => {
  const dir = await Deno.makeTempDir();
  const { path, bytes, gzipped } = await bundleLibrary(dir);
  const code = await Deno.readTextFile(path);
  assert.equal(bytes, new TextEncoder().encode(code).length);
  assert.ok(gzipped < bytes / 2, `gzipped ${gzipped} of ${bytes}`);
  const map = JSON.parse(await Deno.readTextFile(`${path}.map`));
  assert.ok(map.sources.some((s: string) => s.endsWith("/mod.ts")));
  assert.ok(map.sources.some((s: string) => s.endsWith("/jit/tape.ts")));
  // no node:/npm: specifier is a static import (`from "..."`, `import "..."`): each is a
  // value the loader that needs it passes to import() when called
  const specifiers = [...code.matchAll(/(["'`])(?:npm|node):[^"'`]+\1/g)];
  assert.ok(specifiers.length > 0);
  for (const m of specifiers) {
    const before = code.slice(Math.max(0, m.index! - 8), m.index);
    assert.ok(!/(from|import)\s*$/.test(before), `static import of ${m[0]}`);
  }

  // a Deno with no file, env or net permission imports it and trains as mod.ts does
  const runner = `${dir}/runner.js`;
  await Deno.writeTextFile(
    runner,
    `import * as dz from ${JSON.stringify(new URL(`file://${path}`).href)};\n` +
      `import { trainSmallMlp } from ${
        JSON.stringify(new URL("./fixtures/small_mlp.ts", import.meta.url).href)
      };\n` +
      `console.log(JSON.stringify(trainSmallMlp(dz)));\n`,
  );
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "--no-prompt", runner] })
    .output();
  await Deno.remove(dir, { recursive: true });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const losses: number[] = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(losses.length, 30);
  assert.ok(losses[29] < 0.5 * losses[0], `loss ${losses[0]} -> ${losses[29]}`);
  assert.deepEqual(losses, trainSmallMlp(dz));
});
