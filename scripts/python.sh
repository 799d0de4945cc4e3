# Sourced by scripts/test.sh (or run: `bash scripts/python.sh`): builds the Python bindings
# into a venv (.venv, gitignored) with `maturin develop` and runs their checks: pytest
# (tests, parity cases, examples), mypy --strict on the tests and examples, and stubtest
# (the .pyi stubs against the built module). Safe on a fresh machine: needs python3 with
# venv, and PyPI for maturin, pytest, mypy and aiosmtpd.
# shellcheck shell=bash
(
  set -euo pipefail
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  root=$PWD
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "python: installing python3-venv" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  py=$root/.venv/bin/python
  "$py" -m pip install -q --disable-pip-version-check \
    "maturin>=1.7,<2" "pytest>=8" "mypy>=1.10" "aiosmtpd>=1.4"
  # A debug build sharing the workspace's target directory (CARGO_TARGET_DIR if set).
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
  (cd bindings/python && VIRTUAL_ENV=$root/.venv "$root/.venv/bin/maturin" develop -q)
  "$py" -m pytest -q bindings/python/tests
  "$py" -m mypy --strict bindings/python/tests examples/python
  "$py" -m mypy.stubtest mdmkit --allowlist bindings/python/stubtest-allowlist.txt
)
