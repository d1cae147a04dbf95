#!/usr/bin/env bash
# Rebuild the dashboard's partial plotly.js bundle (dashboards/vendor/plotly-codesign.min.js
# and its manifest plotly-codesign.json) from the packages pinned in
# dashboards/plotly_bundle/package-lock.json. Needs node and npm (and the npm registry); the
# built file is committed, so nothing else (CI, `pip install`) does.
#
#   scripts/build_plotly_bundle.sh          # npm ci, then build
#
# Run it after adding a trace type to dashboards/plotly_bundle/build.js (TRACES) or after
# upgrading the Python plotly package (pin the same plotly.js version in package.json first:
# python -c "from plotly.offline import get_plotlyjs_version as v; print(v())").
set -euo pipefail
cd "$(dirname "$0")/../dashboards/plotly_bundle"
npm ci --no-audit --no-fund
node build.js
