/**
 * npm packages loaded on first use. Deno resolves (and downloads) the literal
 * specifier of every dynamic `import("npm:...")` in a module graph as soon as
 * it loads the graph, so a literal there would make importing mod.ts fetch
 * each package a loader might need. A specifier passed in as a value is
 * resolved only when the import runs.
 * @module
 */

/**
 * Imports the npm package `specifier` (a full `npm:name@version`) when
 * called, not when the calling module loads. `T` is the part of the
 * package's exports the caller uses, declared beside the call.
 */
export function importNpm<T>(specifier: `npm:${string}@${string}`): Promise<T> {
  return import(specifier) as Promise<T>;
}
