/**
 * Hostile weight and dataset files: every single-bit flip of an `.npz`
 * (caught by the CRC-32s or the format checks, never loaded as other
 * values), zip bombs and lying size fields (inflation bounded by what the
 * header declares and the parameter takes), over-long `.npy` headers, gzip
 * bombs and corrupt IDX files; and saving: names a format cannot give back
 * are refused at save time, symlinks and permissions are kept, errors name
 * the user's path and leave no temporary file.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as dz from "../mod.ts";
import { datasets, L, Parameter } from "../mod.ts";
import { loadWeights, saveWeights } from "../nn/weights.ts";
import { crc32 } from "../nn/zip.ts";
import {
  ascii,
  assertRefused,
  bytes,
  npy,
  type Params,
  snapshot,
  withDir,
} from "./weights_files.ts";

const fflate = () => import("npm:fflate@0.8.3");

function model(): Params {
  return new Map([
    ["l0.W", new Parameter(dz.array([[0.5, -1.25, 3], [0.1, 2.2, -7.75]], { dtype: "float32" }))],
    ["l0.b", new Parameter(dz.array([0.25, -0.5, 1e-3], { dtype: "float64" }))],
  ]);
}

const zeroed = (): Params =>
  new Map([...model()].map(([k, p]) => [k, new Parameter(dz.zeros(p.shape, { dtype: p.dtype }))]));

Deno.test("crc32() gives the standard check value", () => {
  assert.equal(crc32(ascii("123456789")), 0xcbf43926); // the CRC-32/ISO-HDLC check
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("single-bit flips of an .npz (every 7th bit) are refused or load the original values", () =>
  withDir(async (dir) => {
    for (const level of [0, 6]) { // stored and deflated members
      const { zipSync } = await fflate();
      const files: Record<string, Uint8Array> = {};
      const m = model();
      for (const [name, p] of m) {
        await saveWeights(new Map([[name, p]]), join(dir, "one.npz"));
        const { unzipSync } = await fflate();
        Object.assign(files, unzipSync(await Deno.readFile(join(dir, "one.npz"))));
      }
      const good = zipSync(files, { level: level as 0 | 6 });
      const want = snapshot(m);
      const path = join(dir, "flip.npz");
      let refused = 0, same = 0;
      for (let bit = level; bit < good.length * 8; bit += 7) {
        const bad = good.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        await Deno.writeFile(path, bad);
        const params = zeroed();
        try {
          await loadWeights(params, path);
        } catch (e) {
          assert.match((e as Error).message, /^loadWeights: .*flip\.npz/);
          assert.deepEqual(snapshot(params), snapshot(zeroed()), "a refused load changed nothing");
          refused++;
          continue;
        }
        // a flip in a field the reader does not use (a timestamp, a version)
        assert.deepEqual(snapshot(params), want, `bit ${bit} loaded other values`);
        same++;
      }
      assert.ok(refused > same, `level ${level}: ${refused} refused, ${same} harmless`);
    }
  }));

Deno.test("loadWeights() refuses an .npz member whose CRC-32 does not match", () =>
  withDir(async (dir) => {
    const { zipSync } = await fflate();
    const path = join(dir, "c.npz");
    const six = bytes(Float32Array.of(1, 2, 3, 4, 5, 6));
    const zip = zipSync({ "l0/W.npy": npy("<f4", "(2, 3)", six) }, { level: 0 });
    const at = zip.indexOf(0x40, 64); // a byte of the float 2 (0x40000000), in the stored data
    zip[at] ^= 0x10;
    await Deno.writeFile(path, zip);
    const w = new Map([["l0.W", new Parameter(dz.zeros([2, 3], { dtype: "float32" }))]]);
    await assertRefused(w, path, /'l0\/W\.npy': CRC-32 mismatch \(the file is corrupt\)/);
  }));

Deno.test("loadWeights() bounds inflation: zip bombs and lying sizes never reach a buffer", () =>
  withDir(async (dir) => {
    const { zipSync } = await fflate();
    const path = join(dir, "bomb.npz");
    // 32 MiB of zeros declared for a lazy layer's W: about 32 kB compressed
    const zeros = new Uint8Array(32 * 2 ** 20);
    await Deno.writeFile(path, zipSync({ "l0/W.npy": npy("<f4", "(8192, 1024)", zeros) }));
    const lazy = new L.Linear(1024);
    assert.ok((await Deno.stat(path)).size < 100_000);
    await assert.rejects(
      new dz.Sequential(lazy).loadWeights(path),
      /entry 'l0\/W\.npy' claims 33554560 bytes, more than parameter 'l0\.W' can hold/,
    );
    assert.equal(lazy.inSize, null); // still uninitialised
    // the same bomb with its size fields rewritten to what a [2, 3] W needs
    const w = new Map([["l0.W", new Parameter(dz.zeros([2, 3], { dtype: "float32" }))]]);
    const zip = zipSync({ "l0/W.npy": npy("<f4", "(2, 3)", zeros.subarray(0, 4 * 2 ** 20)) });
    const small = 128 + 24;
    const view = new DataView(zip.buffer);
    for (let i = 0; i + 4 <= zip.length; i++) {
      if (view.getUint32(i, true) === 0x04034b50) view.setUint32(i + 22, small, true);
      if (view.getUint32(i, true) === 0x02014b50) view.setUint32(i + 24, small, true);
    }
    await Deno.writeFile(path, zip);
    await assertRefused(w, path, /'l0\/W\.npy': inflates to more than 152 bytes/);
  }));

Deno.test("loadWeights() refuses .npy headers over numpy's 10000 bytes and odd dict literals", () =>
  withDir(async (dir) => {
    const { zipSync } = await fflate();
    const path = join(dir, "h.npz");
    // a lazy placeholder: the entry's size alone does not bound the header
    const w = () => new Map([["l0.W", new Parameter(dz.zeros([0, 3]))]]);
    const six = bytes(Float64Array.of(1, 2, 3, 4, 5, 6));
    const raw = (dict: string) => {
      const text = ascii(dict + "\n");
      const out = new Uint8Array(12 + text.length + 48);
      out.set([0x93, ...ascii("NUMPY"), 2, 0]);
      new DataView(out.buffer).setUint32(8, text.length, true);
      out.set(text, 12);
      out.set(six, 12 + text.length);
      return out;
    };
    const ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    const cases: [string, RegExp][] = [
      [ok.replace("{", "{" + " ".repeat(20000)), /header of 20060 bytes is longer than 10000/],
      [ok.replace("(2, 3)", "(" + "(".repeat(5000)), /bad shape/],
      [ok + "}", /text after the dict/],
      [ok.replace("'descr'", "'descr': '<f8', 'descr'"), /key 'descr' repeated/],
      [ok.replace("'shape'", "'extra': True, 'shape'"), /exactly descr, fortran_order and shape/],
      ["{'descr': '<f8', 'fortran_order': 'no', 'shape': (2, 3)}", /exactly descr/],
      [ok.replace("'<f8'", "'<f8"), /unterminated string|expected/],
    ];
    for (const [dict, message] of cases) {
      await Deno.writeFile(path, zipSync({ "l0/W.npy": raw(dict) }));
      await assertRefused(w(), path, message);
    }
    // numpy's own spellings load: double quotes, Python 2 longs, no trailing comma
    await Deno.writeFile(
      path,
      zipSync({
        "l0/W.npy": raw('{"descr": "<f8", "fortran_order": False, "shape": (2L, 3L)}'),
      }),
    );
    const params = w();
    await loadWeights(params, path);
    assert.deepEqual(params.get("l0.W")!.data.toArray(), [[1, 2, 3], [4, 5, 6]]);
  }));

/** `data` gzipped. */
async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An IDX file of unsigned bytes with shape `dims` and `data`. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

Deno.test("readIdx() inflates a gzip no further than its header declares, and checks its CRC", () =>
  withDir(async (dir) => {
    const path = join(dir, "x-idx3-ubyte.gz");
    const pixels = Uint8Array.from({ length: 2 * 4 * 4 }, (_, i) => i);
    await Deno.writeFile(path, await gzip(idx([2, 4, 4], pixels)));
    const x = await datasets.readIdx(path);
    assert.deepEqual(x.shape, [2, 4, 4]);
    assert.deepEqual(Array.from(x.data), Array.from(pixels));
    // a bomb: 16 MiB of zeros behind a header declaring 32 bytes
    await Deno.writeFile(path, await gzip(idx([2, 4, 4], new Uint8Array(16 * 2 ** 20))));
    await assert.rejects(
      datasets.readIdx(path),
      /readIdx: .*: holds more data than its shape \[2,4,4\] needs \(32 bytes\)/,
    );
    // a header declaring more than an array can hold
    await Deno.writeFile(path, await gzip(idx([65536, 65536], new Uint8Array(16))));
    await assert.rejects(datasets.readIdx(path), /has 4294967296 elements, more than/);
    // one flipped data bit: the gzip CRC-32 no longer matches
    const gz = await gzip(idx([2, 4, 4], pixels));
    const stored = gz.slice();
    stored[gz.length - 8] ^= 1; // the CRC field itself
    await Deno.writeFile(path, stored);
    await assert.rejects(datasets.readIdx(path), /gzip CRC-32 mismatch/);
    await Deno.writeFile(path, gz.subarray(0, gz.length - 12));
    await assert.rejects(datasets.readIdx(path), /readIdx: /);
  }));

Deno.test("saveWeights() refuses names the format cannot give back, before writing", () =>
  withDir(async (dir) => {
    const p = () => new Parameter(dz.ones([2]));
    const cases: [string, Params, RegExp][] = [
      ["a.safetensors", new Map([["__metadata__", p()]]), /'__metadata__' is reserved/],
      ["b.npz", new Map([["a/b", p()]]), /'a\/b' holds '\/'/],
      ["c.npz", new Map([["a.b", p()], ["a/b", p()]]), /holds '\/'/],
      ["d.npz", new Map([["", p()]]), /'' is empty/],
    ];
    for (const [file, params, message] of cases) {
      await assert.rejects(saveWeights(params, join(dir, file)), message);
    }
    assert.deepEqual(Array.from(Deno.readDirSync(dir)), []);
    // names with dots and odd characters round-trip through both formats
    for (const file of ["ok.npz", "ok.safetensors"]) {
      const names = ["l0.W", "x", "a..b", "é ü", "w.npy", "__meta"];
      await saveWeights(
        new Map(names.map((n, i) => [n, new Parameter(dz.full([1], i))])),
        join(dir, file),
      );
      const back = new Map(names.map((n) => [n, new Parameter(dz.zeros([1]))]));
      await loadWeights(back, join(dir, file));
      assert.deepEqual(names.map((n) => back.get(n)!.data.item()), [0, 1, 2, 3, 4, 5]);
    }
  }));

Deno.test("saveWeights() writes through a symlink, keeps permissions, names the user's path", () =>
  withDir(async (dir) => {
    const target = join(dir, "real.safetensors"), link = join(dir, "link.safetensors");
    await saveWeights(model(), target);
    await Deno.chmod(target, 0o640);
    await Deno.symlink(target, link);
    const m = model();
    m.get("l0.b")!.data.raw[0] = 42;
    await saveWeights(m, link);
    assert.ok((await Deno.lstat(link)).isSymlink, "the link is still a link");
    assert.equal((await Deno.stat(target)).mode! & 0o777, 0o640);
    const back = zeroed();
    await loadWeights(back, target);
    assert.equal(back.get("l0.b")!.data.raw[0], 42);
    // a link to nothing: refused clearly
    const dangling = join(dir, "dangling.npz");
    await Deno.symlink(join(dir, "nowhere", "x.npz"), dangling);
    await assert.rejects(
      saveWeights(model(), dangling),
      /dangling\.npz is a symbolic link to a missing file/,
    );
    // a missing directory: the error names the path asked for, not a temporary file
    const missing = join(dir, "no", "such", "w.npz");
    const e = await saveWeights(model(), missing).catch((e) => e);
    assert.ok(e instanceof Deno.errors.NotFound);
    assert.match(e.message, /^saveWeights: cannot write .*no\/such\/w\.npz/);
    assert.doesNotMatch(e.message, /\.tmp/);
    const names = Array.from(Deno.readDirSync(dir), (d) => d.name).sort();
    assert.deepEqual(names, ["dangling.npz", "link.safetensors", "real.safetensors"]);
    // reading a missing file names loadWeights and the path
    await assert.rejects(
      loadWeights(model(), join(dir, "gone.npz")),
      /loadWeights: cannot read .*gone\.npz/,
    );
  }));
