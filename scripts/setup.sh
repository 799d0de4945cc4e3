# Sourced by the other scripts: installs what a fresh machine lacks. Idempotent.
# shellcheck shell=bash
need_apt=()
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
[ -f /usr/include/openssl/ssl.h ] || need_apt+=(libssl-dev)
# The push certificate tests check signatures with the openssl command, independently of mdmkit.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
