/**
 * Runtime checks of what users pass at the public API (TypeScript's types
 * are gone when `deno run` skips type checking): numbers, integers,
 * booleans, functions, option objects, and a description of any value for
 * error messages that runs none of the value's own code (no `toString`,
 * `valueOf` or getters), so a hostile object can neither execute nor
 * disguise itself. Shapes and axes are checked in core/array/shape_rules.ts.
 * @module
 */

/**
 * `x` as error messages print it: numbers and booleans as JS writes them,
 * strings quoted as Python does (cut at 40 characters), arrays item by
 * item as shapes print (`[2,3]`, cut at 8),
 * anything else by its kind (`an object`, `a function`, `a Float32Array`).
 */
export function show(x: unknown, depth = 0): string {
  switch (typeof x) {
    case "number":
      return Object.is(x, -0) ? "-0" : String(x);
    case "boolean":
    case "undefined":
      return String(x);
    case "bigint":
      return `${x}n`;
    case "string": {
      const body = JSON.stringify(x.length > 40 ? x.slice(0, 40) + "..." : x).slice(1, -1);
      return `'${body.replaceAll('\\"', '"').replaceAll("'", "\\'")}'`;
    }
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
  }
  if (x === null) return "null";
  if (Array.isArray(x)) {
    if (depth > 2) return "[...]";
    const items = x.slice(0, 8).map((v) => show(v, depth + 1));
    return `[${items.join(",")}${x.length > 8 ? ",..." : ""}]`;
  }
  if (ArrayBuffer.isView(x)) return `a ${typeName(x)}`;
  const name = typeName(x as object);
  return name === "Object" ? "an object" : `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
}

/** The name of `x`'s class, read without running getters (own data properties only). */
function typeName(x: object): string {
  const proto = Object.getPrototypeOf(x);
  const ctor = proto === null ? undefined : Object.getOwnPropertyDescriptor(proto, "constructor");
  const name = typeof ctor?.value === "function"
    ? Object.getOwnPropertyDescriptor(ctor.value, "name")?.value
    : undefined;
  return typeof name === "string" && /^[A-Za-z_$][\w$]{0,40}$/.test(name) ? name : "Object";
}

/** Throws unless `x` is a number (NaN and infinities allowed); returns it. */
export function checkNumber(x: unknown, op: string, what: string): number {
  if (typeof x !== "number") {
    throw new TypeError(`${op}: ${what} must be a number, got ${show(x)}`);
  }
  return x;
}

/** Throws unless `x` is a finite number; returns it. */
export function checkFinite(x: unknown, op: string, what: string): number {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new TypeError(`${op}: ${what} must be a finite number, got ${show(x)}`);
  }
  return x;
}

/** Throws unless `x` is an integer in `[min, max]`; returns it. */
export function checkInt(
  x: unknown,
  op: string,
  what: string,
  min = -Number.MAX_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min) {
    const kind = min === 1
      ? "a positive integer"
      : min === 0
      ? "a non-negative integer"
      : min === -Number.MAX_SAFE_INTEGER
      ? "an integer"
      : `an integer >= ${min}`;
    throw new (typeof x === "number" ? RangeError : TypeError)(
      `${op}: ${what} must be ${kind}, got ${show(x)}`,
    );
  }
  if (x > max) throw new RangeError(`${op}: ${what} must be at most ${max}, got ${show(x)}`);
  return x;
}

/** Throws unless `x` is a boolean; returns it. */
export function checkBool(x: unknown, op: string, what: string): boolean {
  if (typeof x !== "boolean") {
    throw new TypeError(`${op}: ${what} must be true or false, got ${show(x)}`);
  }
  return x;
}

/** Throws unless `x` is a non-empty string; returns it. */
export function checkString(x: unknown, op: string, what: string): string {
  if (typeof x !== "string" || x === "") {
    throw new TypeError(`${op}: ${what} must be a non-empty string, got ${show(x)}`);
  }
  return x;
}

/** Throws unless `x` is a function; returns it. */
// deno-lint-ignore ban-types
export function checkFunction<T extends Function>(x: unknown, op: string, what: string): T {
  if (typeof x !== "function") {
    throw new TypeError(`${op}: ${what} must be a function, got ${show(x)}`);
  }
  return x as T;
}

/**
 * Throws unless `options` is undefined or a plain object whose keys are all
 * among `known`; returns it (`{}` for undefined). Catches a positional
 * argument where an options object belongs (`zeros(2, 3)`) and misspelt keys.
 */
export function checkOptions<T extends object>(
  options: T | undefined,
  op: string,
  known: readonly string[],
): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `${op}: options must be an object like { ${known[0]}: ... }, got ${show(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${op}: unknown option ${show(key)} (known: ${known.join(", ")})`,
      );
    }
  }
  return options;
}
