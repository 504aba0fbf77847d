/**
 * Saving and loading named parameters: the safetensors format (default) and
 * DeZero's `.npz` (a zip of `.npy` files), validated in full before any
 * parameter changes, written atomically through a temporary file.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { importNpm } from "../core/npm.ts";
import { arrayCtor, type DType, type TypedArray } from "../core/array/dtype.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { fmtShape, sameShape } from "../core/array/shape_rules.ts";
import type { Variable } from "../core/autograd/variable.ts";

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
  const bytes = isNpz(path, "saveWeights") ? await encodeNpz(params) : encodeSafetensors(params);
  await writeAtomic(path, bytes);
}

/**
 * Reads `path` (`.safetensors`, or DeZero's `.npz`, by extension) into `params`. The file
 * is validated in full first (layout, names, shapes, dtypes; tensors may be
 * stored in any order): on any error it throws, naming the problem and the
 * parameter, and leaves every parameter unchanged. Values are copied into
 * the parameters' existing arrays, except that a parameter with no elements
 * (a lazy layer's placeholder, like Linear's `[0, outSize]` W before its first
 * call) takes the file's array when every axis that is not 0 agrees, as
 * DeZero's `param.data = npz[key]` does for a fresh model.
 */
export async function loadWeights(
  params: ReadonlyMap<string, Variable>,
  path: string,
): Promise<void> {
  const stored = isNpz(path, "loadWeights")
    ? await readNpz(params, path)
    : await readSafetensors(params, path);
  const arrays = new Map<string, NDArray>();
  for (const [name, s] of stored) arrays.set(name, decode(s, `loadWeights: ${path}: '${name}'`));
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
    const end = offset + p.data.raw.byteLength;
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
    out.set(bytesOf(p.data.raw), at);
    at += p.data.raw.byteLength;
  }
  return out;
}

async function readSafetensors(
  params: ReadonlyMap<string, Variable>,
  path: string,
): Promise<Map<string, Stored>> {
  const fail = (msg: string): never => {
    throw new Error(`loadWeights: ${path}: ${msg}`);
  };
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    if (size < 8) fail(`${size}-byte file is shorter than the 8-byte header length`);
    const n = new DataView((await readAt(file, 0, 8)).buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER)) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
    const headerLen = Number(n);
    if (8 + headerLen > size) {
      fail(`header length ${headerLen} runs past the end of the file (${size} bytes)`);
    }
    const stored = parseSafetensorsHeader(await readAt(file, 8, headerLen), fail);
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
    const matched = checkAgainstModel(params, stored, path);
    const data = await readAt(file, 8 + headerLen, dataLen);
    for (const { s, begin, end } of spans) s.bytes = data.subarray(begin, end);
    return matched;
  } finally {
    file.close();
  }
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

/** The part of `npm:fflate` (zip) this module calls. */
interface Fflate {
  zipSync(files: Record<string, Uint8Array>, options: { level: number }): Uint8Array;
  unzipSync(
    data: Uint8Array,
    options: { filter(file: { name: string; size: number; originalSize: number }): boolean },
  ): Record<string, Uint8Array>;
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
  const out = new Uint8Array(10 + headerLen + x.raw.byteLength);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0, headerLen & 0xff, headerLen >> 8]);
  out.set(new TextEncoder().encode(dict.padEnd(headerLen - 1, " ") + "\n"), 10);
  out.set(bytesOf(x.raw), 10 + headerLen);
  return out;
}

async function readNpz(
  params: ReadonlyMap<string, Variable>,
  path: string,
): Promise<Map<string, Stored>> {
  const fail = (msg: string): never => {
    throw new Error(`loadWeights: ${path}: ${msg}`);
  };
  const zip = await Deno.readFile(path);
  const { unzipSync } = await fflate();
  const sizes: [string, number][] = [];
  let files: Record<string, Uint8Array> = {};
  try {
    files = unzipSync(zip, {
      filter: (f) => {
        sizes.push([f.name, f.originalSize]);
        const p = params.get(npzKey(f.name));
        // Inflate only entries the model can take (at most int64 data and a
        // 64 kB header; a lazy placeholder: what deflate can expand the entry
        // to): no zip bomb, no huge buffer from a lying size field.
        const max = p?.data.size ? 8 * p.data.size : 1032 * f.size;
        return p !== undefined && f.originalSize <= max + 65546;
      },
    });
  } catch (e) {
    fail(`not a valid .npz (zip) file (${(e as Error).message})`);
  }
  const stored = new Map<string, Stored | null>();
  for (const [entry, size] of sizes) {
    if (!entry.endsWith(".npy")) fail(`entry '${entry}' is not an .npy file`);
    const name = npzKey(entry);
    if (stored.has(name)) fail(`entry '${entry}' appears twice`);
    const bytes = files[entry];
    if (params.has(name) && bytes === undefined) {
      fail(`entry '${entry}' claims ${size} bytes, more than parameter '${name}' can hold`);
    }
    stored.set(name, bytes ? parseNpy(bytes, (msg) => fail(`entry '${entry}': ${msg}`)) : null);
  }
  return checkAgainstModel(params, stored, path);
}

/** DeZero's `l0/W.npy` as our parameter name `l0.W`. */
function npzKey(entry: string): string {
  return entry.replace(/\.npy$/, "").replaceAll("/", ".");
}

const NPY_FIELD = /\s*(['"])(\w+)\1\s*:\s*('[^']*'|"[^"]*"|True|False|\([^)]*\))\s*(?:,|(?=\s*$))/y;

/** Parses an `.npy` file (format 1.0, 2.0 or 3.0) and checks its length. */
function parseNpy(bytes: Uint8Array, fail: (msg: string) => never): Stored {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail("not an .npy file");
  const major = bytes[6];
  if (![1, 2, 3].includes(major) || bytes[7] !== 0) {
    fail(`unknown .npy version ${major}.${bytes[7]}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) fail("truncated .npy header");
  const end = start + (major === 1 ? view.getUint16(8, true) : view.getUint32(8, true));
  if (end > bytes.length) fail("header runs past the end of the entry");
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, end))
    .trim();
  if (!text.startsWith("{") || !text.endsWith("}")) fail(`header is not a dict: ${text}`);
  const body = text.slice(1, -1);
  const fields = new Map<string, string>();
  NPY_FIELD.lastIndex = 0;
  while (body.slice(NPY_FIELD.lastIndex).trim() !== "") {
    const m = NPY_FIELD.exec(body) ?? fail(`cannot parse header ${text}`);
    fields.set(m[2], m[3]);
  }
  const descr = fields.get("descr")?.slice(1, -1);
  const order = fields.get("fortran_order");
  const dims = fields.get("shape")?.slice(1, -1).split(",").map((d) => d.trim());
  if (
    fields.size !== 3 || descr === undefined || dims === undefined ||
    !/^(True|False)$/.test(order ?? "")
  ) {
    fail(`header must hold exactly descr, fortran_order and shape: ${text}`);
  }
  if (dims!.at(-1) === "") dims!.pop();
  if (!dims!.every((d) => /^\d+L?$/.test(d))) fail(`bad shape in header ${text}`);
  const shape = dims!.map((d) => parseInt(d, 10));
  const codec = Object.hasOwn(NPY_CODECS, descr!)
    ? NPY_CODECS[descr!]
    : fail(`dtype '${descr}' is not supported (${Object.keys(NPY_CODECS).join(", ")})`);
  const nbytes = byteSize(shape, codec.itemsize, fail);
  if (bytes.length - end !== nbytes) {
    fail(
      `shape ${fmtShape(shape)} of ${descr} needs ${nbytes} data bytes, found ${
        bytes.length - end
      }`,
    );
  }
  return { codec, shape, fortran: order === "True", bytes: bytes.subarray(end) };
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
    if (s.codec.dtype !== p.data.dtype) {
      problems.push(`${name}: dtype ${s.codec.dtype} in the file, ${p.data.dtype} in the model`);
    }
  }
  if (problems.length) {
    throw new Error(`loadWeights: ${path} does not match the model:\n  ${problems.join("\n  ")}`);
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

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  for (let got = 0; got < length;) {
    const n = await file.read(buf.subarray(got));
    if (n === null) throw new Error(`unexpected end of file at byte ${offset + got}`);
    got += n;
  }
  return buf;
}

/** Writes `bytes` to a temporary file beside `path`, syncs it, renames it over `path`. */
async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { basename, dirname, join } = await import("node:path"); // lazy: the browser bundle
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
