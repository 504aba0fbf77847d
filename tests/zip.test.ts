/**
 * Tests of the bounded inflaters of nn/zip.ts (node:zlib's and fflate's):
 * data compressed by node:zlib itself inflates back to the original bytes,
 * up to a limit equal to its length; one byte of limit less, a bomb, or
 * corrupt and truncated data are refused with the contract's errors.
 * @module
 */
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { fflateInflater, type Inflater, zlibInflater } from "../nn/zip.ts";

/** 100 kB of bytes that compress (a repeating ramp with a varying step). */
const original = Uint8Array.from({ length: 100_000 }, (_, i) => (i * (i >> 10)) & 0xff);
const compressed = new Uint8Array(deflateRawSync(original));

async function inflaters(): Promise<[string, Inflater][]> {
  const zlib = zlibInflater();
  assert.ok(zlib !== null, "Deno has node:zlib through process.getBuiltinModule");
  return [["zlib", zlib], ["fflate", await fflateInflater()]];
}

Deno.test("the inflaters give back what node:zlib compressed, up to a limit of its exact length", async () => {
  assert.ok(compressed.length < original.length / 4);
  for (const [what, inflate] of await inflaters()) {
    const out = inflate(compressed, original.length);
    assert.equal(out.constructor, Uint8Array, what);
    assert.deepEqual(out, original, what);
    assert.deepEqual(inflate(new Uint8Array(deflateRawSync(new Uint8Array(0))), 0).length, 0);
  }
});

Deno.test("the inflaters refuse data that inflates past the limit, bombs included", async () => {
  const bomb = new Uint8Array(deflateRawSync(new Uint8Array(64 * 2 ** 20)));
  assert.ok(bomb.length < 100_000);
  for (const [what, inflate] of await inflaters()) {
    assert.throws(() => inflate(compressed, original.length - 1), {
      name: "RangeError",
      message: `inflates to more than ${original.length - 1} bytes`,
    }, what);
    assert.throws(() => inflate(bomb, 1000), {
      name: "RangeError",
      message: "inflates to more than 1000 bytes",
    }, what);
  }
});

Deno.test("the inflaters refuse corrupt and truncated data", async () => {
  const bad = compressed.slice();
  bad[0] ^= 0xff; // an invalid block type
  for (const [what, inflate] of await inflaters()) {
    for (const data of [bad, compressed.subarray(0, compressed.length >> 1)]) {
      assert.throws(() => inflate(data, original.length), {
        message: /^corrupt compressed data \(.+\)$/,
      }, what);
    }
  }
});

Deno.test("zlibInflater() is null without node built-ins (a browser)", () => {
  const process = Object.getOwnPropertyDescriptor(globalThis, "process")!;
  Object.defineProperty(globalThis, "process", { value: undefined, configurable: true });
  try {
    assert.equal(zlibInflater(), null);
  } finally {
    Object.defineProperty(globalThis, "process", process);
  }
  assert.notEqual(zlibInflater(), null);
});
