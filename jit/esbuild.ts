/**
 * esbuild-wasm in process: its browser entry, imported lazily and
 * initialised once without a worker (no subprocess, only read permission),
 * and `bundle`, which bundles an ES module whose imports are URLs of this
 * library's files (read with `fetch`, so a file: or an https: copy alike)
 * into one module. `step.export()` and `deno task bundle` use it.
 * @module
 */
import { importNpm } from "../core/npm.ts";

/** What this module uses of esbuild-wasm's browser entry. */
interface Esbuild {
  initialize(options: { wasmModule: WebAssembly.Module; worker: boolean }): Promise<void>;
  build(
    options: Record<string, unknown>,
  ): Promise<{ outputFiles: { path: string; text: string }[] }>;
}

/** A plugin's view of resolving and loading (the part used here). */
interface PluginBuild {
  onResolve(
    filter: { filter: RegExp },
    f: (a: { path: string; importer: string; namespace: string }) => Record<string, unknown>,
  ): void;
  onLoad(
    filter: { filter: RegExp; namespace: string },
    f: (a: { path: string }) => Promise<{ contents: string; loader: string }>,
  ): void;
}

let ready: Promise<Esbuild> | null = null;

/** The initialised esbuild (downloaded, once, and loaded on first use). */
function esbuild(): Promise<Esbuild> {
  ready ??= (async () => {
    const mod = await importNpm<Esbuild>("npm:esbuild-wasm@0.28.2/esm/browser.js");
    const wasm = await fetch(import.meta.resolve("npm:esbuild-wasm@0.28.2/esbuild.wasm"));
    const wasmModule = await WebAssembly.compile(await wasm.arrayBuffer());
    await mod.initialize({ wasmModule, worker: false });
    return mod;
  })();
  return ready;
}

/** Options of `bundle`. */
export interface BundleOptions {
  /** Minify (identifiers, whitespace, syntax). */
  minify: boolean;
  /** Also make a source map (for a bundle written as `outfile`). */
  sourcemap?: boolean;
  /** The bundle's file name (names the source map). */
  outfile?: string;
  /**
   * Treat the library's files as free of side effects, so a module none of
   * whose exports is used is left out whole (true for exported modules,
   * whose runtime modules only set themselves up; not for mod.ts).
   */
  pure?: boolean;
}

/** A bundle: the module's text and, when asked for, its source map. */
export interface Bundle {
  /** The bundled module. */
  code: string;
  /** Its source map (JSON), or "". */
  map: string;
}

/**
 * Bundles the ES module `entry` (its imports: absolute file: or https: URLs,
 * relative ones inside the files they lead to) into one ES module.
 * `node:` and `npm:` imports stay imports (the library makes them lazily).
 */
export async function bundle(entry: string, options: BundleOptions): Promise<Bundle> {
  const { build } = await esbuild();
  const result = await build({
    stdin: { contents: entry, loader: "js", sourcefile: "entry.js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    minify: options.minify,
    sourcemap: options.sourcemap ? "external" : false,
    outfile: options.outfile ?? "out.js",
    write: false,
    logLevel: "silent",
    plugins: [{
      name: "urls",
      setup(b: PluginBuild) {
        b.onResolve({ filter: /^(npm|node):/ }, (a) => ({ path: a.path, external: true }));
        b.onResolve({ filter: /.*/ }, (a) => ({
          path: new URL(a.path, a.namespace === "url" ? a.importer : undefined).href,
          namespace: "url",
          ...(options.pure ? { sideEffects: false } : {}),
        }));
        b.onLoad({ filter: /.*/, namespace: "url" }, async (a) => {
          const response = await fetch(a.path);
          if (!response.ok) throw new Error(`${a.path}: ${response.status} ${response.statusText}`);
          return { contents: await response.text(), loader: a.path.endsWith(".ts") ? "ts" : "js" };
        });
      },
    }],
  });
  const file = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? "";
  return { code: file(".js"), map: file(".map") };
}
