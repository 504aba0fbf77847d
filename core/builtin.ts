/**
 * Node built-ins reached synchronously and without a static `node:` import
 * (which a browser cannot load): `process.getBuiltinModule`, which Deno
 * and Node have and browsers do not.
 * @module
 */

/**
 * The node built-in `id` (e.g. `"node:zlib"`), typed as the part `T` the
 * caller uses, or null where the runtime hands none out (a browser).
 */
export function nodeBuiltin<T>(id: `node:${string}`): T | null {
  const process = (globalThis as {
    process?: { getBuiltinModule?(id: string): unknown };
  }).process;
  try {
    return (process?.getBuiltinModule?.(id) ?? null) as T | null;
  } catch {
    return null;
  }
}
