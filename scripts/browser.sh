#!/usr/bin/env bash
# The portal and console in a real browser: installs Debian's `chromium` when missing
# (apt; nothing else downloads a browser), the npm packages of tests/browser from its
# package-lock.json (playwright-core, axe-core), builds `mdmkit` and the deployment fixture
# (debug, in CARGO_TARGET_DIR or ./target), and runs `node --test` in tests/browser.
# Screenshots of every page go to target/browser-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
if [ ! -x /usr/bin/chromium ]; then
    echo "browser.sh: installing the Debian package chromium" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# A Japanese font, so the Japanese pages' screenshots show text.
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=ja 2>/dev/null)" ]; then
    echo "browser.sh: installing the Debian package fonts-ipafont-gothic" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipafont-gothic >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "browser.sh: installing nodejs and npm" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# No tool may fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
cargo build -p mdmkit-cli -p mdmkit-examples --bin mdmkit --bin web-fixture
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export MDMKIT_BIN="$target/debug/mdmkit" WEB_FIXTURE_BIN="$target/debug/web-fixture"
mkdir -p "$root/target/browser-screenshots"
cd tests/browser
node --test --test-reporter=spec
