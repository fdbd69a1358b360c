// A registry on loopback serving the given npm tarballs the way registry.npmjs.org serves a
// package: a packument per name (`GET /@scope%2fname`, every field of each version's
// package.json, `dist.tarball` and `dist.integrity`) and the tarballs themselves. Packages it
// does not hold answer 404, so a project's .npmrc points only the @paywire scope here.
// Prints `registry: http://127.0.0.1:<port>/` once it listens; stops on SIGTERM.
// Usage: node scripts/npm-registry.mjs <package.tgz>...
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { basename } from "node:path";

const tarballs = process.argv.slice(2);
if (tarballs.length === 0) throw new Error("usage: node scripts/npm-registry.mjs <package.tgz>...");

const packages = new Map();
for (const file of tarballs) {
  const manifest = JSON.parse(execFileSync("tar", ["-xOzf", file, "package/package.json"], { encoding: "utf8" }));
  const bytes = readFileSync(file);
  packages.set(manifest.name, { manifest, bytes, file: basename(file) });
}

const server = createServer((request, response) => {
  const path = decodeURIComponent(new URL(request.url, "http://registry").pathname.slice(1));
  const tarball = [...packages.values()].find((p) => path.endsWith(`/-/${p.file}`));
  if (tarball) {
    response.writeHead(200, { "content-type": "application/octet-stream" });
    response.end(tarball.bytes);
    return;
  }
  const found = packages.get(path);
  if (!found) {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "not found" }));
    return;
  }
  const { manifest, bytes, file } = found;
  const base = `http://${request.headers.host}`;
  const version = {
    ...manifest,
    _id: `${manifest.name}@${manifest.version}`,
    dist: {
      tarball: `${base}/${manifest.name}/-/${file}`,
      integrity: `sha512-${createHash("sha512").update(bytes).digest("base64")}`,
      shasum: createHash("sha1").update(bytes).digest("hex"),
    },
  };
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({
    _id: manifest.name,
    name: manifest.name,
    "dist-tags": { latest: manifest.version },
    versions: { [manifest.version]: version },
  }));
});

server.listen(0, "127.0.0.1", () => {
  console.log(`registry: http://127.0.0.1:${server.address().port}/`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
