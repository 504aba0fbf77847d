/**
 * Reading compressed containers without trusting them: the members of a zip
 * file (DeZero's `.npz`) from its central directory, each checked against
 * its CRC-32 as Python's zipfile (and so `np.load`) does, and DEFLATE or
 * gzip data inflated under a byte limit the caller sets from what it
 * expects, so a small crafted file cannot expand into a huge buffer. Zip
 * members inflate synchronously through an `Inflater`: node:zlib's where the
 * runtime has node built-ins (Deno, Node), fflate's (`npm:fflate@0.8.3`,
 * imported on first use) elsewhere; gzip goes through fflate's stream.
 * @module
 */
import { nodeBuiltin } from "../core/builtin.ts";
import { importNpm } from "../core/npm.ts";

/**
 * Inflates raw DEFLATE `data` in full, producing no more than about `limit`
 * bytes: throws a RangeError "inflates to more than `limit` bytes" when
 * the data holds more, and an Error "corrupt compressed data (...)" when it
 * is not valid DEFLATE.
 */
export type Inflater = (data: Uint8Array, limit: number) => Uint8Array;

/** The part of `node:zlib` the zlib inflater calls. */
interface Zlib {
  inflateRawSync(data: Uint8Array, options: { maxOutputLength: number }): Uint8Array;
}

/** A streaming inflater of fflate: pushes compressed pieces, hands out inflated chunks. */
interface InflateStream {
  push(chunk: Uint8Array, final?: boolean): void;
}

/** The part of `npm:fflate` (streaming inflation) this module calls. */
interface Fflate {
  Inflate: new (ondata: (chunk: Uint8Array) => void) => InflateStream;
  Gunzip: new (ondata: (chunk: Uint8Array) => void) => InflateStream;
}

/** A member of a zip file, as its central directory describes it. */
export interface ZipEntry {
  /** The member's file name. */
  name: string;
  /** 0: stored, 8: deflated. */
  method: number;
  /** CRC-32 of the uncompressed bytes. */
  crc: number;
  /** Bytes in the file. */
  compressedSize: number;
  /** Bytes once inflated, as declared. */
  size: number;
  /** Where the member's data starts in the file. */
  dataStart: number;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The CRC-32 (zip's and gzip's) of `bytes`, as an unsigned number. */
export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * The members of the zip file `zip`, read from its central directory
 * (zip64 sizes and offsets included); `fail` reports a malformed file.
 */
export function zipEntries(zip: Uint8Array, fail: (msg: string) => never): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  let end = -1; // the end-of-central-directory record: the last signature within 64 KiB
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (u32(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) fail("not a zip file (no end of central directory)");
  let count = u16(end + 10), at = u32(end + 16);
  if (end >= 20 && u32(end - 20) === 0x07064b50) { // zip64 locator
    const rec = num64(view, end - 12, fail);
    if (rec + 56 > zip.length || u32(rec) !== 0x06064b50) fail("bad zip64 directory record");
    count = num64(view, rec + 32, fail);
    at = num64(view, rec + 48, fail);
  }
  const entries: ZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (at + 46 > zip.length || u32(at) !== 0x02014b50) {
      fail(`central directory entry ${k} is damaged`);
    }
    const nameLen = u16(at + 28), extraLen = u16(at + 30), commentLen = u16(at + 32);
    if (at + 46 + nameLen + extraLen > zip.length) {
      fail(`central directory entry ${k} is truncated`);
    }
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLen));
    let compressedSize = u32(at + 20), size = u32(at + 24), local = u32(at + 42);
    // zip64: the extra field holds, in order, each field stored as 0xffffffff
    for (let x = at + 46 + nameLen; x + 4 <= at + 46 + nameLen + extraLen;) {
      const id = u16(x), len = u16(x + 2);
      if (id === 1) {
        let p = x + 4;
        const wide = () => (p += 8, num64(view, p - 8, fail));
        if (size === 0xffffffff) size = wide();
        if (compressedSize === 0xffffffff) compressedSize = wide();
        if (local === 0xffffffff) local = wide();
      }
      x += 4 + len;
    }
    if (local + 30 > zip.length || u32(local) !== 0x04034b50) fail(`'${name}': bad local header`);
    const dataStart = local + 30 + u16(local + 26) + u16(local + 28);
    if (dataStart + compressedSize > zip.length) {
      fail(`'${name}': data runs past the end of the file`);
    }
    const method = u16(at + 10);
    if (method !== 0 && method !== 8) {
      fail(`'${name}': compression method ${method} is not supported`);
    }
    if (method === 0 && size !== compressedSize) fail(`'${name}': stored sizes differ`);
    entries.push({ name, method, crc: u32(at + 16), compressedSize, size, dataStart });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function num64(view: DataView, at: number, fail: (msg: string) => never): number {
  if (at < 0 || at + 8 > view.byteLength) fail("zip64 field runs past the end of the file");
  const n = view.getBigUint64(at, true);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : fail("zip64 field is too large");
}

/** fflate, downloaded (once) when first needed. */
const loadFflate = () => importNpm<Fflate>("npm:fflate@0.8.3");

/**
 * node:zlib's `inflateRawSync` as an `Inflater` (its `maxOutputLength`
 * stops it a chunk past the limit), or null where the runtime has no node
 * built-ins (a browser). It is reached through `process.getBuiltinModule`
 * so the browser bundle holds no static `node:` import.
 */
export function zlibInflater(): Inflater | null {
  const zlib = nodeBuiltin<Zlib>("node:zlib");
  if (zlib === null) return null;
  return (data, limit) =>
    bounded(limit, () => {
      try {
        const out = zlib.inflateRawSync(data, { maxOutputLength: limit + 1 });
        // a plain view: a Buffer's slice() would not copy
        return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.length), more: false };
      } catch (e) {
        if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
          return { bytes: new Uint8Array(0), more: true };
        }
        throw e;
      }
    });
}

/** fflate's streaming inflation as an `Inflater` (for runtimes without node:zlib). */
export async function fflateInflater(): Promise<Inflater> {
  const fflate = await loadFflate();
  return (data, limit) => bounded(limit, () => inflatePrefix(fflate, data, limit, false));
}

/** The bytes of `run` (a prefix inflation), or an `Inflater`'s errors. */
function bounded(limit: number, run: () => { bytes: Uint8Array; more: boolean }): Uint8Array {
  let r: { bytes: Uint8Array; more: boolean };
  try {
    r = run();
  } catch (e) {
    throw new Error(`corrupt compressed data (${(e as Error).message})`, { cause: e });
  }
  if (r.more || r.bytes.length > limit) {
    throw new RangeError(`inflates to more than ${limit} bytes`);
  }
  return r.bytes;
}

/**
 * The first `limit` bytes that `data` (raw DEFLATE, or gzip) inflates to,
 * and whether it holds more (fflate's, imported on first use).
 */
export async function inflate(
  data: Uint8Array,
  limit: number,
  gzip: boolean,
): Promise<{ bytes: Uint8Array; more: boolean }> {
  return inflatePrefix(await loadFflate(), data, limit, gzip);
}

/**
 * `inflate` with fflate loaded. Input is pushed in pieces no larger than
 * what could inflate to the remaining room (DEFLATE expands at most
 * ~1032x), so at most about twice `limit` bytes are ever produced.
 */
function inflatePrefix(
  { Inflate, Gunzip }: Fflate,
  data: Uint8Array,
  limit: number,
  gzip: boolean,
): { bytes: Uint8Array; more: boolean } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const full = {}; // thrown to stop once past the limit
  const stream = new (gzip ? Gunzip : Inflate)((chunk: Uint8Array) => {
    chunks.push(chunk);
    total += chunk.length;
    if (total > limit) throw full;
  });
  let more = false;
  try {
    for (let at = 0; at < data.length;) {
      const piece = Math.min(65536, Math.max(1024, Math.ceil((limit - total) / 1032)));
      stream.push(data.subarray(at, at + piece), at + piece >= data.length);
      at += piece;
    }
  } catch (e) {
    if (e !== full) throw e;
    more = true;
  }
  const bytes = new Uint8Array(Math.min(total, limit));
  let at = 0;
  for (const c of chunks) {
    if (at >= bytes.length) break;
    bytes.set(c.subarray(0, bytes.length - at), at);
    at += c.length;
  }
  return { bytes, more };
}

/**
 * The bytes of zip member `e`, inflated by `inflate`: exactly its declared
 * size, which the caller has checked against what it expects, and matching
 * its CRC-32.
 */
export function readEntry(
  zip: Uint8Array,
  e: ZipEntry,
  inflate: Inflater,
  fail: (msg: string) => never,
): Uint8Array {
  let bytes = zip.subarray(e.dataStart, e.dataStart + e.compressedSize);
  if (e.method === 8) {
    try {
      bytes = inflate(bytes, e.size);
    } catch (err) {
      fail(`'${e.name}': ${(err as Error).message}`);
    }
    if (bytes.length !== e.size) {
      fail(`'${e.name}': inflates to ${bytes.length} bytes, not the ${e.size} declared`);
    }
  }
  if (crc32(bytes) !== e.crc) fail(`'${e.name}': CRC-32 mismatch (the file is corrupt)`);
  return bytes;
}
