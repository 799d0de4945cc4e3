#!/usr/bin/env bash
# Runs the whole test suite (see README.md). Safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
# A throwaway PostgreSQL for the store tests and benchmark smoke run (exports
# MDMKIT_TEST_POSTGRES_URL); without it those tests print that they were skipped.
. scripts/postgres.sh
. scripts/h2load.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
# The portal and the console in headless Chromium (Debian's chromium, playwright-core).
bash scripts/browser.sh

# The Python bindings: build into .venv, pytest (with the parity cases and examples),
# mypy --strict, stubtest.
. scripts/python.sh
bash scripts/node.sh
# The Swift component through UniFFI's Python bindings, its generated files, tree-sitter.
. scripts/swift.sh
