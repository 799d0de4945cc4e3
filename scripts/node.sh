#!/usr/bin/env bash
# Builds the Node bindings (the `mdmkit` npm package, debug build) and runs their tests:
# the generated index.d.ts must match the committed one, `node --test` runs the suite
# (parity cases, errors, devices, the example backend), and `tsc --noEmit --strict` checks
# the TypeScript example against the generated types. Needs node (>= 20) and npm; the npm
# packages (@napi-rs/cli, typescript) are installed here from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../bindings/node"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "node.sh: installing nodejs and npm" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "node.sh: Node.js 20 or later is required (found $(node --version))" >&2
    exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
# `napi build` passes CARGO_TARGET_DIR through to cargo, so the workspace's target dir
# (or the one given) is shared.
cp index.d.ts "${TMPDIR:-/tmp}/mdmkit-index.d.ts.committed"
npx napi build --platform
if ! diff -u "${TMPDIR:-/tmp}/mdmkit-index.d.ts.committed" index.d.ts; then
    cp "${TMPDIR:-/tmp}/mdmkit-index.d.ts.committed" index.d.ts
    echo "node.sh: bindings/node/index.d.ts is out of date: run \`npx napi build --platform\` in bindings/node and commit it" >&2
    exit 1
fi
node --test __test__/
npx tsc --noEmit --strict -p ../../examples/node/tsconfig.json
