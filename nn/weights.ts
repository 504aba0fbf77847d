/**
 * Saving and loading named parameters: the safetensors format (default) and
 * DeZero's `.npz` (a zip of `.npy` files), validated in full before any
 * parameter changes, written atomically through a temporary file. Loading
 * is one synchronous pipeline over the file's bytes, which `loadWeights`
 * reads asynchronously and `loadWeightsSync` (models' constructors) not.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { importNpm } from "../core/npm.ts";
import { arrayCtor, type DType, isFloat, type TypedArray } from "../core/array/dtype.ts";
import { NDArray, RAW } from "../core/array/ndarray.ts";
import { fmtShape, sameShape } from "../core/array/shape_rules.ts";
import type { Variable } from "../core/autograd/variable.ts";
import { show } from "../core/validate.ts";
import { fflateInflater, type Inflater, readEntry, zipEntries, zlibInflater } from "./zip.ts";

/** The largest safetensors header accepted (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

/** How one stored element type maps to an NDArray dtype. */
interface Codec {
  /** The NDArray dtype the values load as. */
  dtype: DType;
  /** Bytes per stored element. */
  itemsize: number;
  /** Stored little-endian values of type int64 (narrowed to int32 on load). */
  int64?: boolean;
}

/** safetensors dtype names, by NDArray dtype. */
const ST_NAMES: Record<DType, string> = { float64: "F64", float32: "F32", int32: "I32" };
/** safetensors dtypes, in the reference writer's order (descending dtype rank). */
const ST_CODECS: Record<string, Codec> = {
  F64: { dtype: "float64", itemsize: 8 },
  F32: { dtype: "float32", itemsize: 4 },
  I32: { dtype: "int32", itemsize: 4 },
};

/** numpy `descr` strings, by NDArray dtype. */
const NPY_NAMES: Record<DType, string> = { float64: "<f8", float32: "<f4", int32: "<i4" };
const NPY_CODECS: Record<string, Codec> = {
  "<f8": { dtype: "float64", itemsize: 8 },
  "<f4": { dtype: "float32", itemsize: 4 },
  "<i4": { dtype: "int32", itemsize: 4 },
  "<i8": { dtype: "int32", itemsize: 8, int64: true },
};

/** A tensor found in a file: what it loads as, and where its bytes are. */
interface Stored {
  codec: Codec;
  shape: number[];
  /** Row-major unless `fortran` (numpy's fortran_order). */
  fortran?: boolean;
  /** The raw little-endian bytes (filled in once the layout is validated). */
  bytes?: Uint8Array;
}

/**
 * Writes `params` to `path`: safetensors for a `.safetensors` path, DeZero's
 * `.npz` for a `.npz` path (any other extension is an error). Tensors are written in the order of the reference
 * safetensors writer (wider dtypes first, then by name), so the file is
 * byte-identical to what `safetensors.serialize` produces; `.npz` entries are
 * named DeZero's way (`l0.W` -> `l0/W.npy`). The file appears only once
 * fully written (temporary file in the same directory, then renamed).
 */
export async function saveWeights(
  params: ReadonlyMap<string, Variable>,
  path: string,
): Promise<void> {
  const npz = isNpz(path, "saveWeights");
  checkNames(params, npz, path);
  const bytes = npz ? await encodeNpz(params) : encodeSafetensors(params);
  await writeAtomic(path, bytes);
}

/**
 * Refuses, before anything is written, parameter names the format cannot
 * give back: safetensors reserves `__metadata__`; an `.npz` entry name is
 * the parameter name with `.` as `/`, so a name holding `/` would load as
 * another name (and could collide with one).
 */
function checkNames(params: ReadonlyMap<string, Variable>, npz: boolean, path: string): void {
  for (const name of params.keys()) {
    const bad = name === ""
      ? "is empty"
      : !npz && name === "__metadata__"
      ? "is reserved by safetensors"
      : npz && name.includes("/")
      ? "holds '/', which .npz entry names use for '.'"
      : new TextEncoder().encode(name).length > 60000
      ? "is too long"
      : null;
    if (bad !== null) {
      throw new Error(`saveWeights: ${path}: parameter name ${show(name)} ${bad}; rename it`);
    }
  }
}

/**
 * Reads `path` (`.safetensors`, or DeZero's `.npz`, by extension) into `params`. The file
 * is validated in full first (layout, names, shapes, dtypes; tensors may be
 * stored in any order): on any error it throws, naming the problem and the
 * parameter, and leaves every parameter unchanged. Values are copied into
 * the parameters' existing arrays, except that a parameter with no elements
 * (a lazy layer's placeholder, like Linear's `[0, outSize]` W before its first
 * call) takes the file's array when every axis that is not 0 agrees, in the
 * file's float dtype, as DeZero's `param.data = npz[key]` does for a fresh
 * model. `.npz` members inflate through node:zlib where the runtime has it,
 * else through fflate.
 */
export async function loadWeights(
  params: ReadonlyMap<string, Variable>,
  path: string,
): Promise<void> {
  const op = "loadWeights";
  const inflate = isNpz(path, op) ? zlibInflater() ?? await fflateInflater() : null;
  setFromFile(params, path, await readFile(path, op), inflate, op);
}

/**
 * `loadWeights` done synchronously, for the `pretrained` option of a
 * model's constructor; errors name `op` (the model). It needs
 * `Deno.readFileSync` and, for an `.npz`, node:zlib: where they are
 * missing (a browser) it throws, pointing to `await op.load(...)`.
 */
export function loadWeightsSync(
  params: ReadonlyMap<string, Variable>,
  path: string,
  op: string,
): void {
  const npz = isNpz(path, op);
  const inflate = npz ? zlibInflater() : null;
  const deno = (globalThis as { Deno?: Partial<typeof Deno> }).Deno;
  if (deno?.readFileSync === undefined || (npz && inflate === null)) {
    throw new Error(
      `${op}: this runtime cannot read weights synchronously (it needs Deno.readFileSync` +
        `${npz ? " and node:zlib" : ""}): use \`await ${op}.load({ pretrained: path })\``,
    );
  }
  let file: Uint8Array;
  try {
    file = deno.readFileSync(path);
  } catch (e) {
    throw fileError(e, `${op}: cannot read ${path}`);
  }
  setFromFile(params, path, file, inflate, op);
}

/**
 * The one loading pipeline: validates `file` (the bytes read from `path`:
 * an `.npz` when `inflate` inflates its members, else safetensors) against
 * `params` in full, then sets them; errors start with `op`.
 */
function setFromFile(
  params: ReadonlyMap<string, Variable>,
  path: string,
  file: Uint8Array,
  inflate: Inflater | null,
  op: string,
): void {
  const stored = inflate === null
    ? readSafetensors(params, path, file, op)
    : readNpz(params, path, file, inflate, op);
  const arrays = new Map<string, NDArray>();
  for (const [name, s] of stored) arrays.set(name, decode(s, `${op}: ${path}: '${name}'`));
  for (const [name, p] of params) {
    const x = arrays.get(name)!;
    if (sameShape(x.shape, p.data.shape)) dispatch("copy", [x], {}, p.data);
    else p.data = x;
  }
}

/** True when the stored shape fits the parameter: equal, or filling a lazy placeholder. */
function fits(stored: number[], p: Variable): boolean {
  const shape = p.data.shape;
  return sameShape(stored, shape) || (p.data.size === 0 && stored.length === shape.length &&
    shape.every((d, i) => d === 0 || d === stored[i]));
}

/**
 * True when stored values of `dtype` may fill the parameter: the same
 * dtype, or, for a parameter with no elements yet (a lazy layer's
 * placeholder, which takes the file's array), another float dtype, as
 * DeZero's `param.data = npz[key]` takes it: numpy 2 makes the weights of
 * DeZero's layers float64 (a float32 draw times a float64 scale).
 */
function dtypeFits(dtype: DType, p: Variable): boolean {
  return dtype === p.data.dtype || (p.data.size === 0 && isFloat(dtype) && isFloat(p.data.dtype));
}

/** Whether `path` names an `.npz` file (else `.safetensors`; `op` refuses any other name). */
function isNpz(path: string, op: string): boolean {
  const ext = /\.[^./\\]*$/.exec(path)?.[0].toLowerCase() ?? "";
  if (ext !== ".npz" && ext !== ".safetensors") {
    throw new TypeError(
      `${op}: ${path}: unknown extension '${ext}' (use .safetensors, or .npz for DeZero's format)`,
    );
  }
  return ext === ".npz";
}

// ---- safetensors -------------------------------------------------------

function encodeSafetensors(params: ReadonlyMap<string, Variable>): Uint8Array {
  const order = Object.keys(ST_CODECS);
  const entries = [...params].sort(([a, pa], [b, pb]) =>
    order.indexOf(ST_NAMES[pa.data.dtype]) - order.indexOf(ST_NAMES[pb.data.dtype]) ||
    (a < b ? -1 : a > b ? 1 : 0)
  );
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, p] of entries) {
    const end = offset + p.data[RAW].byteLength;
    header[name] = {
      dtype: ST_NAMES[p.data.dtype],
      shape: p.data.shape,
      data_offsets: [offset, end],
    };
    offset = end;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - json.length % 8) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const [, p] of entries) {
    out.set(bytesOf(p.data[RAW]), at);
    at += p.data[RAW].byteLength;
  }
  return out;
}

function readSafetensors(
  params: ReadonlyMap<string, Variable>,
  path: string,
  file: Uint8Array,
  op: string,
): Map<string, Stored> {
  const fail = (msg: string): never => {
    throw new Error(`${op}: ${path}: ${msg}`);
  };
  const size = file.length;
  if (size < 8) fail(`${size}-byte file is shorter than the 8-byte header length`);
  const n = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > size) {
    fail(`header length ${headerLen} runs past the end of the file (${size} bytes)`);
  }
  const stored = parseSafetensorsHeader(file.subarray(8, 8 + headerLen), fail);
  const dataLen = size - 8 - headerLen;
  const spans = [...stored].map(([name, s]) => ({ name, s, begin: s.begin, end: s.end }))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0, prev = "";
  for (const { name, begin, end } of spans) {
    if (begin < covered) fail(`data_offsets [${begin},${end}] of '${name}' overlap '${prev}'`);
    if (begin > covered) fail(`${begin - covered}-byte gap in the data before '${name}'`);
    covered = end;
    prev = name;
  }
  if (covered !== dataLen) {
    fail(
      `tensors cover ${covered} bytes but the data section has ${dataLen} (truncated or corrupt)`,
    );
  }
  const matched = checkAgainstModel(params, stored, path, op);
  const data = file.subarray(8 + headerLen);
  for (const { s, begin, end } of spans) s.bytes = data.subarray(begin, end);
  return matched;
}

/** Parses and checks a safetensors JSON header (each entry on its own). */
function parseSafetensorsHeader(
  raw: Uint8Array,
  fail: (msg: string) => never,
): Map<string, Stored & { begin: number; end: number }> {
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    fail("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail("header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) fail("header is not a JSON object");
  const out = new Map<string, Stored & { begin: number; end: number }>();
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!isObject(info) || !Object.values(info).every((v) => typeof v === "string")) {
        fail("__metadata__ must map strings to strings");
      }
      continue;
    }
    if (!isObject(info)) fail(`'${name}': entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const codec = typeof dtype === "string" && Object.hasOwn(ST_CODECS, dtype)
      ? ST_CODECS[dtype]
      : fail(`'${name}': dtype ${JSON.stringify(dtype)} is not supported (F32, F64, I32)`);
    if (!isDims(shape)) fail(`'${name}': shape must be an array of non-negative integers`);
    if (!isDims(offsets) || offsets.length !== 2 || offsets[0] > offsets[1]) {
      fail(`'${name}': data_offsets must be [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as number[];
    const nbytes = byteSize(shape as number[], codec.itemsize, fail);
    if (end - begin !== nbytes) {
      fail(
        `'${name}': data_offsets [${begin},${end}] hold ${end - begin} bytes but shape ${
          fmtShape(shape as number[])
        } of ${dtype} needs ${nbytes}`,
      );
    }
    out.set(name, { codec, shape: shape as number[], begin, end });
  }
  return out;
}

// ---- DeZero's .npz -----------------------------------------------------

/** The part of `npm:fflate` (zip writing) this module calls. */
interface Fflate {
  zipSync(files: Record<string, Uint8Array>, options: { level: number }): Uint8Array;
}

/** fflate, downloaded (once) when a `.npz` file is first read or written. */
const fflate = () => importNpm<Fflate>("npm:fflate@0.8.3");

async function encodeNpz(params: ReadonlyMap<string, Variable>): Promise<Uint8Array> {
  const { zipSync } = await fflate();
  const files: Record<string, Uint8Array> = {};
  for (const [name, p] of params) files[`${name.replaceAll(".", "/")}.npy`] = encodeNpy(p.data);
  return zipSync(files, { level: 6 });
}

/** An `.npy` file (format 1.0) exactly as numpy's `np.save` writes it. */
function encodeNpy(x: NDArray): Uint8Array {
  const shape = x.ndim === 1 ? `(${x.shape[0]},)` : `(${x.shape.join(", ")})`;
  let dict = `{'descr': '${NPY_NAMES[x.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy leaves room to grow the first axis in place, then aligns to 64 bytes.
  if (x.ndim > 0) dict += " ".repeat(21 - String(x.shape[0]).length);
  const headerLen = dict.length + 1 + 64 - (10 + dict.length + 1) % 64;
  const out = new Uint8Array(10 + headerLen + x[RAW].byteLength);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0, headerLen & 0xff, headerLen >> 8]);
  out.set(new TextEncoder().encode(dict.padEnd(headerLen - 1, " ") + "\n"), 10);
  out.set(bytesOf(x[RAW]), 10 + headerLen);
  return out;
}

/** The longest `.npy` header read (numpy's `max_header_size` default). */
const NPY_HEADER_MAX = 10000;

/**
 * The most bytes a parameter whose size the model does not fix yet (a lazy
 * layer's placeholder) takes from one `.npz` entry: 16 MiB, or 64 times the
 * entry's compressed size (weights compress little; a zip bomb a lot).
 */
function lazyLimit(compressed: number): number {
  return Math.max(16 * 2 ** 20, 64 * compressed);
}

function readNpz(
  params: ReadonlyMap<string, Variable>,
  path: string,
  zip: Uint8Array,
  inflate: Inflater,
  op: string,
): Map<string, Stored> {
  const fail = (msg: string): never => {
    throw new Error(`${op}: ${path}: ${msg}`);
  };
  const entries = zipEntries(zip, (msg) => fail(`not a valid .npz (zip) file (${msg})`));
  const stored = new Map<string, Stored | null>();
  for (const e of entries) {
    const entry = e.name;
    if (!entry.endsWith(".npy")) fail(`entry '${entry}' is not an .npy file`);
    const name = npzKey(entry);
    if (stored.has(name)) fail(`entry '${entry}' appears twice`);
    const p = params.get(name);
    stored.set(name, null); // not read unless the model has it
    if (p === undefined) continue;
    const bad = (msg: string): never => fail(`entry '${entry}': ${msg}`);
    // Inflate only what the model can take: a header and at most the data
    // the parameter holds (int64 data narrows), checked before inflating
    const most = p.data.size ? 8 * p.data.size : lazyLimit(e.compressedSize);
    if (e.size > 12 + NPY_HEADER_MAX + most) {
      fail(`entry '${entry}' claims ${e.size} bytes, more than parameter '${name}' can hold`);
    }
    const bytes = readEntry(zip, e, inflate, fail);
    const s = parseNpyHeader(bytes.subarray(0, 12 + NPY_HEADER_MAX), bad);
    const nbytes = byteSize(s.shape, s.codec.itemsize, bad);
    stored.set(name, s);
    if (!fits(s.shape, p) || !dtypeFits(s.codec.dtype, p)) continue; // reported below
    if (p.data.size === 0 && nbytes > most) {
      bad(
        `shape ${fmtShape(s.shape)} (${nbytes} bytes) is more than the ${most} bytes a parameter ` +
          "the model has not sized yet may take from an entry this small (call the model once first)",
      );
    }
    if (e.size !== s.dataStart + nbytes) {
      bad(
        `shape ${fmtShape(s.shape)} of ${s.descr} needs ${nbytes} data bytes, found ${
          e.size - s.dataStart
        }`,
      );
    }
    s.bytes = bytes.subarray(s.dataStart);
  }
  return checkAgainstModel(params, stored, path, op);
}

/** DeZero's `l0/W.npy` as our parameter name `l0.W`. */
function npzKey(entry: string): string {
  return entry.replace(/\.npy$/, "").replaceAll("/", ".");
}

/**
 * Parses the header of an `.npy` file (format 1.0, 2.0 or 3.0): a Python
 * dict literal with exactly `descr`, `fortran_order` and `shape`, read in
 * one pass (linear in its length, at most `NPY_HEADER_MAX` bytes).
 */
function parseNpyHeader(
  bytes: Uint8Array,
  fail: (msg: string) => never,
): Stored & { descr: string; dataStart: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail("not an .npy file");
  const major = bytes[6];
  if (![1, 2, 3].includes(major) || bytes[7] !== 0) {
    fail(`unknown .npy version ${major}.${bytes[7]}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) fail("truncated .npy header");
  const len = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (len > NPY_HEADER_MAX) fail(`header of ${len} bytes is longer than ${NPY_HEADER_MAX}`);
  if (start + len > bytes.length) fail("header runs past the end of the entry");
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + len),
  );
  const fields = pyDict(text, (msg) => fail(`${msg} in header ${text.slice(0, 200)}`));
  const descr = fields.get("descr"), order = fields.get("fortran_order");
  const shape = fields.get("shape");
  if (
    fields.size !== 3 || typeof descr !== "string" || typeof order !== "boolean" ||
    !Array.isArray(shape)
  ) {
    fail(`header must hold exactly descr, fortran_order and shape: ${text.slice(0, 200)}`);
  }
  const codec = Object.hasOwn(NPY_CODECS, descr as string)
    ? NPY_CODECS[descr as string]
    : fail(`dtype '${descr}' is not supported (${Object.keys(NPY_CODECS).join(", ")})`);
  return {
    codec,
    shape: shape as number[],
    fortran: order as boolean,
    descr: descr as string,
    dataStart: start + len,
  };
}

/**
 * The dict literal numpy writes as an `.npy` header, e.g. `{'descr': '<f4',
 * 'fortran_order': False, 'shape': (2, 3), }`: string keys; values a
 * string, True/False, or a tuple of non-negative integers.
 */
function pyDict(
  text: string,
  fail: (msg: string) => never,
): Map<string, string | boolean | number[]> {
  let i = 0;
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const expect = (c: string) => {
    space();
    if (text[i] !== c) fail(`expected '${c}' at ${i}`);
    i++;
  };
  const str = (): string => {
    space();
    const q = text[i];
    if (q !== "'" && q !== '"') fail(`expected a string at ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail("unterminated string");
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): string | boolean | number[] => {
    space();
    if (text.startsWith("True", i)) return (i += 4, true);
    if (text.startsWith("False", i)) return (i += 5, false);
    if (text[i] !== "(") return str();
    i++;
    const dims: number[] = [];
    for (space(); text[i] !== ")"; space()) {
      const m = /^\d{1,16}L?/.exec(text.slice(i, i + 17));
      if (m === null) fail(`bad shape at ${i}`);
      dims.push(parseInt(m![0], 10));
      i += m![0].length;
      space();
      if (text[i] === ",") i++;
      else if (text[i] !== ")") fail(`bad shape at ${i}`);
    }
    i++;
    return dims;
  };
  const out = new Map<string, string | boolean | number[]>();
  expect("{");
  for (space(); text[i] !== "}"; space()) {
    const key = str();
    if (out.has(key)) fail(`key '${key}' repeated`);
    expect(":");
    out.set(key, value());
    space();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail(`expected ',' or '}' at ${i}`);
  }
  i++;
  space();
  if (i !== text.length) fail(`text after the dict at ${i}`);
  return out;
}

// ---- shared ------------------------------------------------------------

/**
 * Throws one error listing every name, shape and dtype mismatch; else
 * returns the stored tensor of each parameter. `null` marks an entry found
 * but not read (its name is not in the model).
 */
function checkAgainstModel(
  params: ReadonlyMap<string, Variable>,
  stored: Map<string, Stored | null>,
  path: string,
  op: string,
): Map<string, Stored> {
  const problems: string[] = [];
  const missing = [...params.keys()].filter((name) => !stored.has(name));
  const extra = [...stored.keys()].filter((name) => !params.has(name));
  if (missing.length) problems.push(`missing from the file: ${missing.join(", ")}`);
  if (extra.length) problems.push(`not in the model: ${extra.join(", ")}`);
  for (const [name, p] of params) {
    const s = stored.get(name);
    if (!s) continue;
    if (!fits(s.shape, p)) {
      problems.push(
        `${name}: shape ${fmtShape(s.shape)} in the file, ${fmtShape(p.data.shape)} in the model`,
      );
    }
    if (!dtypeFits(s.codec.dtype, p)) {
      problems.push(`${name}: dtype ${s.codec.dtype} in the file, ${p.data.dtype} in the model`);
    }
  }
  if (problems.length) {
    throw new Error(`${op}: ${path} does not match the model:\n  ${problems.join("\n  ")}`);
  }
  return stored as Map<string, Stored>;
}

/** The values of a validated tensor as a C-ordered NDArray. */
function decode(s: Stored, what: string): NDArray {
  const copy = s.bytes!.slice(); // aligned, owned
  const data: TypedArray = s.codec.int64
    ? narrowInt64(new BigInt64Array(copy.buffer), what)
    : new (arrayCtor(s.codec.dtype))(copy.buffer);
  return s.fortran
    ? new NDArray(data, [...s.shape].reverse()).transpose()
    : new NDArray(data, s.shape);
}

function narrowInt64(wide: BigInt64Array, what: string): Int32Array {
  const out = new Int32Array(wide.length);
  for (let i = 0; i < wide.length; i++) {
    const v = wide[i];
    if (v < -2147483648n || v > 2147483647n) {
      throw new RangeError(`${what}: int64 value ${v} at index ${i} does not fit in int32`);
    }
    out[i] = Number(v);
  }
  return out;
}

function byteSize(shape: number[], itemsize: number, fail: (msg: string) => never): number {
  const n = shape.reduce((a, d) => a * d, itemsize);
  return Number.isSafeInteger(n) ? n : fail(`shape ${fmtShape(shape)} is too large`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isDims(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** The little-endian bytes of a typed array (hosts Deno runs on are little-endian). */
function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The contents of `path`; an error names `op` and the path. */
async function readFile(path: string, op: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw fileError(e, `${op}: cannot read ${path}`);
  }
}

/** `e` (a file system error) with `context` in front, of the same class (`Deno.errors.NotFound` stays one). */
function fileError(e: unknown, context: string, replace?: [string, string]): Error {
  if (!(e instanceof Error)) return new Error(`${context}: ${e}`);
  const msg = replace ? e.message.replaceAll(replace[0], replace[1]) : e.message;
  const Ctor = e.constructor as new (message: string, options?: ErrorOptions) => Error;
  return new Ctor(`${context}: ${msg}`, { cause: e });
}

/**
 * Writes `bytes` to `path` atomically: to a temporary file beside the file
 * `path` names (a symlink's target: the link stays), synced, given the
 * existing file's permissions, then renamed over it. On any error the
 * temporary file is removed and the error names `path`, not the temporary.
 */
async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { basename, dirname, join } = await import("node:path"); // lazy: the browser bundle
  let target = path, mode: number | null = null;
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) {
      target = await Deno.realPath(path).catch(() => {
        throw new Error(`saveWeights: ${path} is a symbolic link to a missing file`);
      });
    }
    mode = (await Deno.stat(target)).mode;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const tmp = join(dirname(target), `.${basename(target)}.${crypto.randomUUID()}.tmp`);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
      await file.syncData();
    } finally {
      file.close();
    }
    if (mode !== null && Deno.build.os !== "windows") await Deno.chmod(tmp, mode & 0o7777);
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw fileError(e, `saveWeights: cannot write ${path}`, [tmp, target]);
  }
}
