// Builds the partial plotly.js bundle the codesign dashboard serves (see docs/dashboard.md,
// "plotly.js bundle"). Run through scripts/build_plotly_bundle.sh, which installs the pinned
// packages of package-lock.json first.
//
// Writes dashboards/vendor/plotly-codesign.min.js (plotly.js's own licence header
// first, the bundled packages' licence comments at its end) and plotly-codesign.json, the
// manifest the app and the tests read (plotly.js version, the registered trace types, size,
// sha256 of the bundle).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

// The trace types the dashboard draws. A figure with any other type draws nothing with this
// bundle: add the type here, rebuild, and commit the bundle and its manifest
// (tests/dashboards/test_plotly_bundle.py checks every figure of the dashboard against it).
const TRACES = ['scatter', 'scattergl', 'scatter3d', 'bar', 'heatmap', 'parcoords'];

const OUT_DIR = path.join(__dirname, '..', 'vendor');
const OUT = path.join(OUT_DIR, 'plotly-codesign.min.js');
const MANIFEST = path.join(OUT_DIR, 'plotly-codesign.json');
const PLOTLY = path.dirname(require.resolve('plotly.js/package.json'));

// plotly.js's core holds scatter and every layout component (legend, colour bars, shapes,
// annotations, hover, modebar ...), as in its own partial bundles (lib/index-*.js); the
// other traces are registered on it. No world calendars (lib/calendars), which the
// dashboard does not use.
const entry = [
  "var Plotly = require('plotly.js/lib/core');",
  'Plotly.register([',
  ...TRACES.filter((t) => t !== 'scatter').map((t) => `  require('plotly.js/lib/${t}'),`),
  ']);',
  'module.exports = Plotly;',
].join('\n');

// The licence header of plotly.js's own dist files, naming the traces this bundle holds.
function banner(version) {
  const dist = fs.readFileSync(path.join(PLOTLY, 'dist', 'plotly.min.js'), 'utf8');
  const header = dist.slice(0, dist.indexOf('*/') + 2);
  if (!header.startsWith('/**') || !header.includes(`plotly.js v${version}`)) {
    throw new Error(`unexpected licence header in plotly.js's dist: ${header.slice(0, 80)}`);
  }
  return header.replace(
    `plotly.js v${version}`,
    `plotly.js v${version} (partial bundle for codesign: ${TRACES.join(', ')})`
  );
}

async function main() {
  const version = require('plotly.js/package.json').version;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  // The settings of plotly.js's esbuild-config.js (IIFE setting the global Plotly, es2016,
  // `global` is window, no AMD, regl deduplicated), minified. The one stylesheet its sources
  // import (maplibre's, for map traces only) is left out: plotly.js injects its own CSS.
  await esbuild.build({
    stdin: { contents: entry, resolveDir: __dirname, sourcefile: 'plotly-codesign-entry.js' },
    bundle: true,
    format: 'iife',
    globalName: 'Plotly',
    platform: 'browser',
    target: 'es2016',
    minify: true,
    legalComments: 'eof',
    define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
    alias: { regl: '@plotly/regl' },
    loader: { '.css': 'empty' },
    banner: { js: banner(version) },
    outfile: OUT,
    logLevel: 'warning',
  });
  const bytes = fs.readFileSync(OUT);
  const full = fs.statSync(path.join(PLOTLY, 'dist', 'plotly.min.js')).size;
  const manifest = {
    plotly_js: version,
    traces: TRACES,
    file: path.basename(OUT),
    bytes: bytes.length,
    full_bundle_bytes: full,
    sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    esbuild: esbuild.version,
    built_by: 'scripts/build_plotly_bundle.sh',
  };
  fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  console.log(
    `${path.relative(process.cwd(), OUT)}: plotly.js ${version}, ${TRACES.join(', ')}; ` +
      `${(bytes.length / 1e6).toFixed(2)} MB (the full bundle: ${(full / 1e6).toFixed(2)} MB)`
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
