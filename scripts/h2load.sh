#!/usr/bin/env bash
# Installs h2load (Debian package nghttp2-client) if missing: the push benchmark's ceiling.
# Idempotent; sourced or run.
if ! command -v h2load >/dev/null 2>&1; then
  echo "h2load: installing nghttp2-client" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null
fi
