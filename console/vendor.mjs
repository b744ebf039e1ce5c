// Copies the dist files the page loads from node_modules (installed from package-lock.json)
// into vendor/, which is committed: running the service needs Rust only, not Node.
//   node console/vendor.mjs           copy them
//   node console/vendor.mjs --check   fail when a committed file differs from the locked package's
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// Only what the page uses: markers are divIcons, so none of Leaflet's marker or layer images.
const FILES = {
  "leaflet.js": "leaflet/dist/leaflet.js",
  "leaflet.css": "leaflet/dist/leaflet.css",
  "leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
  "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
  "MarkerCluster.Default.css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
};

const check = process.argv.includes("--check");
let differing = 0;
mkdirSync(join(here, "vendor"), { recursive: true });
for (const [name, source] of Object.entries(FILES)) {
  const from = join(here, "node_modules", source);
  if (!existsSync(from)) {
    console.error(`${from} is missing: run npm ci --prefix console first`);
    process.exit(2);
  }
  const wanted = readFileSync(from);
  const to = join(here, "vendor", name);
  if (!check) {
    writeFileSync(to, wanted);
    continue;
  }
  if (!existsSync(to) || !readFileSync(to).equals(wanted)) {
    console.error(`console/vendor/${name} differs from node_modules/${source}: run node console/vendor.mjs`);
    differing += 1;
  }
}
if (differing > 0) process.exit(1);
console.log(check ? `console/vendor/ matches the locked packages (${Object.keys(FILES).length} files)` : "console/vendor/ written");
