#!/usr/bin/env bash
# Runs the main demonstration (see README.md). Safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
# Part one: the library step by step, in one process.
cargo run --quiet -p mdmkit-examples --bin demo
# Part two: a deployment run from its store by the `mdmkit` commands, across processes.
cargo build --quiet -p mdmkit-cli -p mdmkit-examples
target=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
"$target/debug/deployment" "$target/debug/mdmkit"
