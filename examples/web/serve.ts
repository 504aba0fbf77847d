/**
 * `deno task serve`: builds the demo (examples/web/build.ts) and serves the
 * repository's files on localhost, so /examples/web/ (the spiral page) and
 * /examples/web/csp.html (the exported step under a strict CSP) load
 * /dist/dezero.js and build/ as they would from any static host.
 *
 * Run: deno task serve [--port 8000]
 * @module
 */
import { buildDemo } from "./build.ts";

const ROOT = new URL("../../", import.meta.url);
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  map: "application/json",
  css: "text/css",
};

/** The response to a GET of `url`: a file under the repository root, or 404. */
async function serveFile(url: URL): Promise<Response> {
  let path = decodeURIComponent(url.pathname);
  if (path === "/") return Response.redirect(new URL("/examples/web/", url), 302);
  if (path.endsWith("/")) path += "index.html";
  const file = new URL(`.${path}`, ROOT);
  if (!file.href.startsWith(ROOT.href) || path.split("/").includes("..")) {
    return new Response("not found", { status: 404 });
  }
  try {
    const body = await Deno.readFile(file);
    const type = TYPES[path.split(".").pop()!] ?? "application/octet-stream";
    return new Response(body, { headers: { "content-type": type } });
  } catch {
    return new Response("not found", { status: 404 });
  }
}

/** Serves the repository on 127.0.0.1:`port` (0: any free port); returns the server. */
export function serveDemo(port: number): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (req) => serveFile(new URL(req.url)),
  );
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--port");
  const port = i >= 0 ? Number(Deno.args[i + 1]) : 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`serve: --port must be an integer in [0, 65535], got ${Deno.args[i + 1]}`);
  }
  await buildDemo();
  const server = serveDemo(port);
  const base = `http://127.0.0.1:${server.addr.port}/examples/web/`;
  console.log(`spiral page: ${base}\nCSP page:    ${base}csp.html`);
}
