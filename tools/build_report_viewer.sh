#!/usr/bin/env bash
# Rebuild model/nvpanoptix3d/report/assets/three-viewer.min.js (the 3D viewer of report.html) from npm:
# three.js and esbuild at pinned versions, bundled from viewer-entry.js into one minified IIFE (global THREE).
# Needs node + npm (network to the npm registry); the product itself never downloads anything.
set -euo pipefail
THREE_VERSION=0.187.0
ESBUILD_VERSION=0.28.2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ASSETS="$ROOT/model/nvpanoptix3d/report/assets"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "three@$THREE_VERSION" "esbuild@$ESBUILD_VERSION"
cp "$ASSETS/viewer-entry.js" entry.js
npx esbuild entry.js --bundle --minify --format=iife --global-name=THREE --legal-comments=none \
  --outfile=three-viewer.min.js
{ echo "/* three.js r${THREE_VERSION#0.} (MIT licence: THREE_LICENSE.txt) - parts used by report.html, built by tools/build_report_viewer.sh */"; cat three-viewer.min.js; } > "$ASSETS/three-viewer.min.js"
cp node_modules/three/LICENSE "$ASSETS/THREE_LICENSE.txt"
echo "wrote $ASSETS/three-viewer.min.js ($(wc -c < "$ASSETS/three-viewer.min.js") bytes)"
