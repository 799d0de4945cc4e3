#!/usr/bin/env bash
# Installs h2load (Debian package nghttp2-client) if missing: the ceiling the push
# benchmark compares the APNs client with. Idempotent; sourced by scripts/test.sh or run.
# shellcheck shell=bash
if ! command -v h2load >/dev/null 2>&1; then
  echo "h2load: installing nghttp2-client" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null; } ||
    echo "h2load: could not install nghttp2-client; the push benchmark will say h2load is absent" >&2
fi
