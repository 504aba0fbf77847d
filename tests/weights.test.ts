/** Tests of nn/weights.ts (named Variables, as layers pass their Parameters): safetensors and DeZero .npz files, byte layouts, interop, refusals. @module */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as dz from "../mod.ts";
import { Variable } from "../mod.ts";
import { loadWeights, saveWeights } from "../nn/weights.ts";
import {
  ascii,
  assertRefused,
  bytes,
  npy,
  type Params,
  snapshot,
  withDir,
} from "./weights_files.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const fflate = () => import("npm:fflate@0.8.3");
const f32 = (...v: number[]) => Array.from(Float32Array.from(v));

/** A model of each dtype: float32 matrix and vector, float64 column, int32 vector. */
function model(fill?: number): Params {
  const p = (values: dz.NestedArray, dtype: dz.DType) =>
    new Variable(
      fill === undefined ? dz.array(values, { dtype }) : dz.full(dz.array(values).shape, fill, {
        dtype,
      }),
    );
  return new Map([
    ["l0.W", p([[0.5, -1.25, 3], [0.1, 2.2, -7.75]], "float32")],
    ["l0.b", p([0.25, -0.5, 1e-3], "float32")],
    ["l1.V", p([[Math.PI], [-0], [1e-300]], "float64")],
    ["l1.n", p([-2147483648, 2147483647], "int32")],
  ]);
}

const EXPECTED: Record<string, number[]> = {
  "l0.W": f32(0.5, -1.25, 3, 0.1, 2.2, -7.75),
  "l0.b": f32(0.25, -0.5, 1e-3),
  "l1.V": [Math.PI, -0, 1e-300],
  "l1.n": [-2147483648, 2147483647],
};

/** A safetensors file built by hand from the specification. */
function safetensors(header: unknown, data: Uint8Array, length?: bigint): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = ascii(text + " ".repeat((8 - text.length % 8) % 8));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

for (const ext of ["safetensors", "npz"]) {
  Deno.test(`saveWeights()/loadWeights() round-trip float32, float64 and int32 parameters (.${ext})`, () =>
    withDir(async (dir) => {
      const path = join(dir, `model.${ext}`);
      await saveWeights(model(), path);
      const loaded = model(7);
      const arrays = [...loaded.values()].map((p) => p.data);
      await loadWeights(loaded, path);
      for (const [name, p] of loaded) {
        assert.deepEqual(Array.from(p.data.data), EXPECTED[name], name);
      }
      // values are copied into the existing arrays
      assert.deepEqual([...loaded.values()].map((p) => p.data), arrays);
      assert.deepEqual(snapshot(loaded), snapshot(model()));
    }));
}

Deno.test("saveWeights()/loadWeights() round-trip 0-d and empty parameters", () =>
  withDir(async (dir) => {
    for (const ext of ["safetensors", "npz"]) {
      const path = join(dir, `edge.${ext}`);
      const make = (v: number) =>
        new Map([
          ["s", new Variable(dz.full([], v))],
          ["e", new Variable(dz.zeros([0, 4], { dtype: "float32" }))],
          ["t", new Variable(dz.full([1], v, { dtype: "int32" }))],
        ]);
      await saveWeights(make(2.5), path);
      const loaded = make(0);
      await loadWeights(loaded, path);
      assert.deepEqual(loaded.get("s")!.data.toArray(), 2.5);
      assert.deepEqual(loaded.get("e")!.data.shape, [0, 4]);
      assert.deepEqual(Array.from(loaded.get("t")!.data.data), [2]);
    }
  }));

Deno.test("loadWeights() fills a lazy layer's empty placeholder with the file's shape", () =>
  withDir(async (dir) => {
    for (const ext of ["safetensors", "npz"]) {
      const path = join(dir, `lazy.${ext}`);
      await saveWeights(model(), path);
      const lazy = model(0);
      lazy.set("l0.W", new Variable(dz.zeros([0, 3], { dtype: "float32" })));
      await loadWeights(lazy, path);
      assert.deepEqual(lazy.get("l0.W")!.data.shape, [2, 3]);
      assert.deepEqual(Array.from(lazy.get("l0.W")!.data.data), EXPECTED["l0.W"]);
      // a placeholder larger than any fixed bound (here 120 kB) is read too
      const big = dz.arange(30000, undefined, 1, { dtype: "float32" }).reshape(300, 100);
      await saveWeights(new Map([["W", new Variable(big)]]), path);
      const W = new Map([["W", new Variable(dz.zeros([0, 100], { dtype: "float32" }))]]);
      await loadWeights(W, path);
      assert.deepEqual(W.get("W")!.data.shape, [300, 100]);
      assert.deepEqual(
        Array.from(W.get("W")!.data.data),
        Array.from({ length: 30000 }, (_, i) => i),
      );
      await saveWeights(model(), path);
      // a placeholder still refuses axes that disagree
      lazy.set("l0.W", new Variable(dz.zeros([0, 4], { dtype: "float32" })));
      await assertRefused(lazy, path, /l0\.W: shape \[2,3\] in the file, \[0,4\] in the model/);
    }
  }));

Deno.test("loadWeights() fills a float placeholder from either float dtype (DeZero under numpy 2 saves float64 weights); sized parameters and ints keep theirs", () =>
  withDir(async (dir) => {
    for (const ext of ["safetensors", "npz"]) {
      const path = join(dir, `dtypes.${ext}`);
      await saveWeights(model(), path); // l1.V is float64 [3, 1], l1.n int32 [2]
      // a float32 placeholder takes the float64 values as they are (DeZero's param.data = npz[key])
      const lazy = model(0);
      lazy.set("l1.V", new Variable(dz.zeros([0, 1], { dtype: "float32" })));
      await loadWeights(lazy, path);
      assert.equal(lazy.get("l1.V")!.data.dtype, "float64");
      assert.deepEqual(Array.from(lazy.get("l1.V")!.data.data), EXPECTED["l1.V"]);
      // a sized float32 parameter still refuses float64, and a float placeholder refuses int32
      const sized = model(0);
      sized.set("l1.V", new Variable(dz.zeros([3, 1], { dtype: "float32" })));
      await assertRefused(sized, path, /l1\.V: dtype float64 in the file, float32 in the model/);
      const ints = model(0);
      ints.set("l1.n", new Variable(dz.zeros([0], { dtype: "float32" })));
      await assertRefused(ints, path, /l1\.n: dtype int32 in the file, float32 in the model/);
    }
  }));

Deno.test("saveWeights()/loadWeights() refuse a file name that is neither .safetensors nor .npz", () =>
  withDir(async (dir) => {
    for (const name of ["w.pt", "w.safetensor", "weights"]) {
      const path = join(dir, name);
      await assert.rejects(saveWeights(model(), path), {
        name: "TypeError",
        message: new RegExp(`^saveWeights: .*${name}: unknown extension .*use \\.safetensors`),
      });
      assert.deepEqual([...Deno.readDirSync(dir)], []); // nothing written
      await Deno.writeFile(path, new Uint8Array(8));
      await assertRefused(model(0), path, /^TypeError: loadWeights: .*unknown extension/);
      await Deno.remove(path);
    }
    // the extension's case does not matter
    await saveWeights(model(), join(dir, "W.NPZ"));
    const loaded = model(0);
    await loadWeights(loaded, join(dir, "W.NPZ"));
    assert.deepEqual(snapshot(loaded), snapshot(model()));
  }));

Deno.test("saveWeights() writes the safetensors layout of the specification", () =>
  withDir(async (dir) => {
    const path = join(dir, "m.safetensors");
    await saveWeights(model(), path);
    const file = await Deno.readFile(path);
    const view = new DataView(file.buffer);
    const n = Number(view.getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    // Wider dtypes first, then by name (the reference writer's order); compact JSON; space padding.
    const json = '{"l1.V":{"dtype":"F64","shape":[3,1],"data_offsets":[0,24]},' +
      '"l0.W":{"dtype":"F32","shape":[2,3],"data_offsets":[24,48]},' +
      '"l0.b":{"dtype":"F32","shape":[3],"data_offsets":[48,60]},' +
      '"l1.n":{"dtype":"I32","shape":[2],"data_offsets":[60,68]}}';
    assert.equal(text, json.padEnd(n, " "));
    assert.ok(n - json.length < 8);
    const header = JSON.parse(text);
    const spans = Object.values(header).map((t) => (t as { data_offsets: number[] }).data_offsets);
    assert.deepEqual(spans.flat(), [0, 24, 24, 48, 48, 60, 60, 68]);
    assert.equal(file.length - 8 - n, 68);
    const d = 8 + n;
    assert.deepEqual([0, 1, 2].map((i) => view.getFloat64(d + 8 * i, true)), EXPECTED["l1.V"]);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => view.getFloat32(d + 24 + 4 * i, true)),
      EXPECTED["l0.W"],
    );
    assert.deepEqual([0, 1, 2].map((i) => view.getFloat32(d + 48 + 4 * i, true)), EXPECTED["l0.b"]);
    assert.deepEqual([0, 1].map((i) => view.getInt32(d + 60 + 4 * i, true)), EXPECTED["l1.n"]);
  }));

Deno.test("saveWeights() writes the bytes the reference safetensors serializer writes", () =>
  withDir(async (dir) => {
    const data = [
      0,
      0,
      0,
      0,
      0,
      0,
      128,
      63,
      0,
      0,
      0,
      64,
      0,
      0,
      64,
      64,
      0,
      0,
      128,
      64,
      0,
      0,
      160,
      64,
    ];
    const cases: [string, number[], string][] = [
      // 64-byte header: no padding needed
      ["attn.0", [1, 2, 3], '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'],
      // 65-byte header: 7 spaces keep the data 8-byte aligned
      [
        "attn0",
        [1, 1, 2, 3],
        '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
      ],
    ];
    for (const [name, shape, header] of cases) {
      const path = join(dir, `${name}.safetensors`);
      const x = dz.arange(6, undefined, 1, { dtype: "float32" }).reshape(shape);
      await saveWeights(new Map([[name, new Variable(x)]]), path);
      assert.deepEqual(
        Array.from(await Deno.readFile(path)),
        [header.length, 0, 0, 0, 0, 0, 0, 0, ...ascii(header), ...data],
      );
    }
    await saveWeights(new Map(), join(dir, "empty.safetensors"));
    assert.deepEqual(
      Array.from(await Deno.readFile(join(dir, "empty.safetensors"))),
      [8, 0, 0, 0, 0, 0, 0, 0, ...ascii("{}      ")],
    );
  }));

Deno.test("saveWeights() writes .npy entries in the numpy format specification", () =>
  withDir(async (dir) => {
    const path = join(dir, "m.npz");
    await saveWeights(model(), path);
    const { unzipSync } = await fflate();
    const entries = unzipSync(await Deno.readFile(path));
    assert.deepEqual(Object.keys(entries), ["l0/W.npy", "l0/b.npy", "l1/V.npy", "l1/n.npy"]);
    const cases: [string, string, number][] = [
      ["l0/W.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24],
      ["l0/b.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12],
      ["l1/V.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1), }", 24],
      ["l1/n.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8],
    ];
    for (const [name, dict, nbytes] of cases) {
      const e = entries[name];
      assert.deepEqual(Array.from(e.subarray(0, 8)), [0x93, 78, 85, 77, 80, 89, 1, 0], name);
      const hlen = e[8] | (e[9] << 8);
      assert.equal((10 + hlen) % 64, 0, name);
      const header = new TextDecoder().decode(e.subarray(10, 10 + hlen));
      // dict, then spaces (at least numpy's 21 - digits of the first axis), then '\n'
      assert.match(header, /^\{.*\} +\n$/, name);
      assert.equal(header.trimEnd(), dict, name);
      assert.ok(header.length - 1 - dict.length >= 21 - 1, name);
      assert.equal(e.length - 10 - hlen, nbytes, name);
    }
    const w = entries["l0/W.npy"];
    assert.deepEqual(Array.from(new Float32Array(w.slice(128).buffer)), EXPECTED["l0.W"]);
  }));

Deno.test("saveWeights() writes .npy entries byte-identical to numpy's np.savez_compressed", () =>
  withDir(async (dir) => {
    const { unzipSync } = await fflate();
    const theirs = unzipSync(await Deno.readFile(fixture("weights_numpy.npz")));
    const path = join(dir, "ours.npz");
    const params = model();
    params.delete("l1.V");
    params.delete("l1.n");
    await saveWeights(params, path);
    const ours = unzipSync(await Deno.readFile(path));
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
    for (const name of Object.keys(theirs)) assert.deepEqual(ours[name], theirs[name], name);
  }));

Deno.test("loadWeights() reads a real np.savez_compressed file with DeZero's key names", async () => {
  const params: Params = new Map([
    ["l0.W", new Variable(dz.zeros([2, 3], { dtype: "float32" }))],
    ["l0.b", new Variable(dz.zeros([3], { dtype: "float32" }))],
  ]);
  await loadWeights(params, fixture("weights_numpy.npz"));
  assert.deepEqual(Array.from(params.get("l0.W")!.data.data), EXPECTED["l0.W"]);
  assert.deepEqual(Array.from(params.get("l0.b")!.data.data), EXPECTED["l0.b"]);
});

Deno.test("loadWeights() reads a hand-written safetensors file (any order, metadata, unaligned data)", async () => {
  const params = model(0);
  await loadWeights(params, fixture("weights_handwritten.safetensors"));
  assert.deepEqual(Array.from(params.get("l0.W")!.data.data), EXPECTED["l0.W"]);
  assert.deepEqual(Array.from(params.get("l0.b")!.data.data), EXPECTED["l0.b"]);
  assert.deepEqual(Array.from(params.get("l1.V")!.data.data), [1.5, -2, 1e-300]);
  assert.deepEqual(Array.from(params.get("l1.n")!.data.data), [7, -3]);
});

Deno.test("loadWeights() refuses files whose names, shapes or dtypes differ from the model", () =>
  withDir(async (dir) => {
    for (const ext of ["safetensors", "npz"]) {
      const save = async (edit: (p: Params) => void) => {
        const p = model();
        edit(p);
        const path = join(dir, `edited.${ext}`);
        await saveWeights(p, path);
        return path;
      };
      const params = model(3);
      const shaped = await save((p) =>
        p.set("l0.W", new Variable(dz.zeros([3, 2], { dtype: "float32" })))
      );
      await assertRefused(params, shaped, /l0\.W: shape \[3,2\] in the file, \[2,3\] in the model/);
      const missing = await save((p) => p.delete("l1.n"));
      await assertRefused(params, missing, /missing from the file: l1\.n/);
      const extra = await save((p) => p.set("l2.W", new Variable(dz.zeros([1]))));
      await assertRefused(params, extra, /not in the model: l2\.W/);
      const typed = await save((p) =>
        p.set("l1.V", new Variable(dz.zeros([3, 1], { dtype: "float32" })))
      );
      await assertRefused(params, typed, /l1\.V: dtype float32 in the file, float64 in the model/);
    }
  }));

Deno.test("loadWeights() refuses a truncated file at every cut, changing nothing", () =>
  withDir(async (dir) => {
    for (const ext of ["safetensors", "npz"]) {
      const path = join(dir, `full.${ext}`);
      await saveWeights(model(), path);
      const full = await Deno.readFile(path);
      const n = Number(new DataView(full.buffer).getBigUint64(0, true));
      const cuts = ext === "npz"
        ? [0, 4, 30, full.length >> 1, full.length - 22, full.length - 1]
        : [0, 4, 7, 8, 20, 8 + n - 1, 8 + n, 8 + n + 30, full.length - 1];
      for (const cut of cuts) {
        const cutPath = join(dir, `cut.${ext}`);
        await Deno.writeFile(cutPath, full.subarray(0, cut));
        const msg = ext === "npz"
          ? /not a valid \.npz/
          : /shorter than the 8-byte header length|runs past the end of the file|truncated or corrupt/;
        await assertRefused(model(5), cutPath, msg);
      }
    }
  }));

Deno.test("loadWeights() refuses a corrupt safetensors header with a clear error", () =>
  withDir(async (dir) => {
    const info = (dtype: string, shape: number[], offsets: number[]) => ({
      dtype,
      shape,
      data_offsets: offsets,
    });
    const data = new Uint8Array(24);
    const cases: [string, Uint8Array, RegExp][] = [
      [
        "length past the end",
        safetensors({ a: info("F32", [6], [0, 24]) }, data, 4096n),
        /header length 4096 runs past the end of the file \(\d+ bytes\)/,
      ],
      [
        "huge length",
        safetensors({}, data, 2n ** 40n),
        /header length 1099511627776 exceeds the 100000000-byte limit/,
      ],
      [
        "just over the limit",
        safetensors({}, data, 100_000_001n),
        /exceeds the 100000000-byte limit/,
      ],
      ["invalid JSON", safetensors('{"a": {', data), /header is not valid JSON/],
      ["not an object", safetensors("[1, 2]", data), /does not start with '\{'/],
      [
        "not UTF-8",
        (() => {
          const f = safetensors("{}", data);
          f[9] = 0xff;
          return f;
        })(),
        /not valid UTF-8/,
      ],
      [
        "overlapping offsets",
        safetensors({ a: info("F32", [4], [0, 16]), b: info("F32", [2], [8, 16]) }, data),
        /data_offsets \[8,16\] of 'b' overlap 'a'/,
      ],
      [
        "gap",
        safetensors({ a: info("F32", [2], [0, 8]), b: info("F32", [2], [16, 24]) }, data),
        /8-byte gap in the data before 'b'/,
      ],
      [
        "offsets past the data",
        safetensors({ a: info("F32", [8], [0, 32]) }, data),
        /tensors cover 32 bytes but the data section has 24/,
      ],
      [
        "offsets not matching shape * itemsize",
        safetensors({ a: info("F64", [2], [0, 24]) }, data),
        /'a': data_offsets \[0,24\] hold 24 bytes but shape \[2\] of F64 needs 16/,
      ],
      [
        "reversed offsets",
        safetensors({ a: info("F32", [0], [24, 0]) }, data),
        /'a': data_offsets must be \[begin, end\]/,
      ],
      [
        "unknown dtype",
        safetensors({ a: info("Q7", [6], [0, 24]) }, data),
        /'a': dtype "Q7" is not supported \(F32, F64, I32\)/,
      ],
      [
        "unsupported dtype",
        safetensors({ a: info("F16", [12], [0, 24]) }, data),
        /'a': dtype "F16" is not supported/,
      ],
      [
        "negative shape",
        safetensors({ a: info("F32", [-6], [0, 24]) }, data),
        /'a': shape must be an array of non-negative integers/,
      ],
      [
        "bad metadata",
        safetensors({ __metadata__: { epochs: 3 }, a: info("F32", [6], [0, 24]) }, data),
        /__metadata__ must map strings to strings/,
      ],
    ];
    const params: Params = new Map([["a", new Variable(dz.ones([6], { dtype: "float32" }))]]);
    for (const [what, file, msg] of cases) {
      const path = join(dir, "bad.safetensors");
      await Deno.writeFile(path, file);
      await assertRefused(params, path, msg).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
    // the well-formed file the cases were cut from loads
    const good = join(dir, "good.safetensors");
    const values = Float32Array.of(1, 2, 3, 4, 5, 6);
    await Deno.writeFile(good, safetensors({ a: info("F32", [6], [0, 24]) }, bytes(values)));
    await loadWeights(params, good);
    assert.deepEqual(Array.from(params.get("a")!.data.data), [1, 2, 3, 4, 5, 6]);
  }));

Deno.test("loadWeights() reads .npy variants DeZero files may hold and refuses bad entries", () =>
  withDir(async (dir) => {
    const { zipSync } = await fflate();
    const path = join(dir, "h.npz");
    const write = (entries: Record<string, Uint8Array>) => Deno.writeFile(path, zipSync(entries));
    const n = () => new Map([["n", new Variable(dz.zeros([3], { dtype: "int32" }))]]);
    const w = () => new Map([["l0.W", new Variable(dz.zeros([2, 3]))]]);

    // int64 narrows to int32 when every value fits
    await write({ "n.npy": npy("<i8", "(3,)", bytes(BigInt64Array.of(-5n, 0n, 2147483647n))) });
    const ints = n();
    await loadWeights(ints, path);
    assert.deepEqual(Array.from(ints.get("n")!.data.data), [-5, 0, 2147483647]);
    await write({ "n.npy": npy("<i8", "(3,)", bytes(BigInt64Array.of(1n, 2n, 2147483648n))) });
    await assertRefused(n(), path, /'n': int64 value 2147483648 at index 2 does not fit in int32/);

    // fortran_order True: column-major data
    const colMajor = Float64Array.of(1, 4, 2, 5, 3, 6);
    await write({ "l0/W.npy": npy("<f8", "(2, 3)", bytes(colMajor), true) });
    const fw = w();
    await loadWeights(fw, path);
    assert.deepEqual(fw.get("l0.W")!.data.toArray(), [[1, 2, 3], [4, 5, 6]]);

    const six = bytes(Float64Array.of(1, 2, 3, 4, 5, 6));
    const cases: [Record<string, Uint8Array>, RegExp][] = [
      [{ "l0/W.npy": npy(">f8", "(2, 3)", six) }, /dtype '>f8' is not supported/],
      [{ "l0/W.npy": npy("|b1", "(2, 3)", six) }, /dtype '\|b1' is not supported/],
      [{ "l0/W.npy": npy("<f8", "(2, 3)", six.subarray(8)) }, /needs 48 data bytes, found 40/],
      [{ "l0/W.npy": six }, /entry 'l0\/W\.npy': not an \.npy file/],
      [{ "l0/W.npy": npy("<f8", "(2, x)", six) }, /bad shape/],
      [{ "l0/W.txt": npy("<f8", "(2, 3)", six) }, /entry 'l0\/W\.txt' is not an \.npy file/],
      [
        { "l0/W.npy": npy("<f8", "(2, 3)", six), "l0/V.npy": npy("<f8", "(1,)", six) },
        /not in the model: l0\.V/,
      ],
      // 70 kB inflated is more than a [2,3] parameter can need: never inflated
      [
        { "l0/W.npy": npy("<f8", "(8750,)", new Uint8Array(70000)) },
        /claims 70128 bytes, more than parameter 'l0\.W' can hold/,
      ],
    ];
    for (const [entries, msg] of cases) {
      await write(entries);
      await assertRefused(w(), path, msg);
    }
    await Deno.writeFile(path, ascii("this is not a zip archive at all"));
    await assertRefused(w(), path, /not a valid \.npz \(zip\) file/);
  }));

Deno.test("saveWeights() writes atomically: only the target remains, failures leave no temp file", () =>
  withDir(async (dir) => {
    const names = async () => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    await saveWeights(model(), join(dir, "a.safetensors"));
    await saveWeights(model(), join(dir, "b.npz"));
    assert.deepEqual(await names(), ["a.safetensors", "b.npz"]);
    // overwriting replaces the old file whole
    const small = new Map([["x", new Variable(dz.ones([1], { dtype: "float32" }))]]);
    await saveWeights(small, join(dir, "a.safetensors"));
    const x = new Map([["x", new Variable(dz.zeros([1], { dtype: "float32" }))]]);
    await loadWeights(x, join(dir, "a.safetensors"));
    assert.deepEqual(Array.from(x.get("x")!.data.data), [1]);
    // renaming over a directory fails; the temporary file is removed
    await Deno.mkdir(join(dir, "d.safetensors"));
    await assert.rejects(saveWeights(model(), join(dir, "d.safetensors")));
    assert.deepEqual(await names(), ["a.safetensors", "b.npz", "d.safetensors"]);
    assert.deepEqual(Array.from(Deno.readDirSync(join(dir, "d.safetensors"))), []);
  }));
