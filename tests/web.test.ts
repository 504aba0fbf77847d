/**
 * The demo pages in a real browser: headless Chromium (Debian's `chromium`,
 * which .ci/run installs) loads examples/web/ from `serveDemo` and dumps
 * the DOM once the page is done; the pages leave their outcome as JSON in
 * #result's data-report. The spiral page trains with the JIT to a train
 * accuracy >= 0.95; the CSP page (`script-src 'self' 'wasm-unsafe-eval'`)
 * trains with exported modules, reports no violation, and ends on the very
 * loss the same modules give here. Skipped, saying so, where Chromium is
 * not installed.
 * @module
 */
import assert from "node:assert/strict";
import { buildDemo } from "../examples/web/build.ts";
import { serveDemo } from "../examples/web/serve.ts";

/** The Chromium executable, or null. */
async function findChromium(): Promise<string | null> {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const out = await new Deno.Command(name, { args: ["--version"] }).output();
      if (out.code === 0) return name;
    } catch {
      // not this name
    }
  }
  return null;
}

const chromium = await findChromium();
if (chromium === null) {
  console.warn(
    "web.test.ts: Chromium is not installed (apt-get install -y chromium): browser tests skipped",
  );
}

/** The data-report of `url`'s #result once the page is done (at most 60 s of virtual time). */
async function report(url: string): Promise<Record<string, unknown>> {
  const profile = await Deno.makeTempDir();
  const out = await new Deno.Command(chromium!, {
    args: [
      "--headless",
      "--no-sandbox", // needed as root, as CI runs
      "--disable-gpu",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      "--virtual-time-budget=60000",
      "--dump-dom",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  await Deno.remove(profile, { recursive: true });
  const dom = new TextDecoder().decode(out.stdout);
  const found = /<output id="result" data-report="([^"]*)"/.exec(dom);
  assert.ok(found, `no report in ${url}:\n${dom.slice(0, 2000)}`);
  const json = found[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
  return JSON.parse(json);
}

Deno.test({
  name: "examples/web in Chromium: the JIT trains the spiral; an exported step trains under CSP",
  ignore: chromium === null,
  sanitizeResources: false,
  fn: async () => {
    const paths = await buildDemo();
    const server = serveDemo(0);
    const base = `http://127.0.0.1:${server.addr.port}/examples/web/`;
    try {
      const spiral = await report(base);
      assert.equal(spiral.done, true, String(spiral.error));
      assert.ok((spiral.accuracy as number) >= 0.95, `accuracy ${spiral.accuracy}`);

      const csp = await report(`${base}csp.html`);
      assert.equal(csp.done, true, String(csp.error));
      assert.equal(csp.evalBlocked, true); // the policy holds: new Function threw...
      assert.deepEqual(csp.probeReports, ["script-src: eval"]); // ...and was reported
      assert.deepEqual(csp.violations, []); // training reported none
      // the same modules and loop here give the same final loss, bit for bit
      const step = await import(new URL(`file://${paths.step}`).href);
      const predict = await import(new URL(`file://${paths.predict}`).href);
      const { accuracy, trainEpoch } = await import("../examples/web/train.js");
      const data = JSON.parse(await Deno.readTextFile(paths.data));
      let loss = NaN;
      for (let epoch = 0; epoch < 300; epoch++) loss = trainEpoch(step.default, data, epoch);
      assert.ok(Object.is(csp.loss, loss), `page ${csp.loss}, Deno ${loss}`);
      predict.setWeights(step.weights());
      assert.equal(csp.accuracy, accuracy(predict.default(new Float32Array(data.x)), data.t));
      assert.ok((csp.accuracy as number) >= 0.95);
    } finally {
      await server.shutdown();
    }
  },
});
