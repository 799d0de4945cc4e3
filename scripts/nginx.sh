# Starts (or reuses) a throwaway nginx for the push benchmark: HTTP/2 over TLS on 127.0.0.1
# only, a self-signed certificate made for the run, one worker, and a location that answers
# 200 to POST /3/device/<token> (an APNs peer no one in the project wrote). Installs the
# Debian package `nginx` when missing. Exports MDMKIT_BENCH_NGINX_URL (https://127.0.0.1:PORT)
# and MDMKIT_BENCH_NGINX_CA (the certificate, PEM, for the client to trust). Idempotent.
#
#   . scripts/nginx.sh          # start and export the two variables
#   bash scripts/nginx.sh       # start and print the URL
#   bash scripts/nginx.sh stop  # stop nginx and delete its files
# shellcheck shell=bash

mdmkit_nginx() {
  local action="${1:-start}"
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # One server per checkout and user, so worktrees and CI runs do not collide.
  local dir="/tmp/mdmkit-nginx-$(id -u)-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"

  if [ "$action" = stop ]; then
    if [ -f "$dir/nginx.pid" ] && command -v nginx >/dev/null 2>&1; then
      nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s quit 2>/dev/null || true
      local pid
      pid="$(cat "$dir/nginx.pid" 2>/dev/null || true)"
      local i
      for i in $(seq 1 50); do
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.1
      done
    fi
    rm -rf "$dir"
    return 0
  fi

  if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx: installing the Debian package nginx" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null; } || {
      echo "nginx: cannot install nginx" >&2
      return 1
    }
  fi
  local nginx
  nginx="$(command -v nginx || echo /usr/sbin/nginx)"

  if [ -f "$dir/port" ] && [ -f "$dir/nginx.pid" ] && kill -0 "$(cat "$dir/nginx.pid")" 2>/dev/null; then
    :
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
      -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1 || {
      echo "nginx: cannot make the certificate, see $dir/openssl.log" >&2
      return 1
    }
    chmod 600 "$dir/key.pem"
    # A free port on 127.0.0.1.
    local port=$((50000 + $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 5000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    # As root, the worker drops to nobody; the master reads the key before it does.
    local user=""
    if [ "$(id -u)" = 0 ]; then user="user nobody nogroup;"; fi
    cat >"$dir/nginx.conf" <<EOF
$user
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  # Like APNs: 1000 concurrent streams, and connections that stay open.
  http2_max_concurrent_streams 1000;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port ssl http2;
    server_name localhost;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /3/device/ {
      limit_except POST { deny all; }
      return 200;
    }
    location / { return 404; }
  }
}
EOF
    "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || {
      echo "nginx: the server did not start, see $dir/error.log" >&2
      return 1
    }
    echo "$port" >"$dir/port"
  fi

  MDMKIT_BENCH_NGINX_URL="https://127.0.0.1:$(cat "$dir/port")"
  MDMKIT_BENCH_NGINX_CA="$dir/cert.pem"
  export MDMKIT_BENCH_NGINX_URL MDMKIT_BENCH_NGINX_CA
  echo "nginx: MDMKIT_BENCH_NGINX_URL=$MDMKIT_BENCH_NGINX_URL" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  mdmkit_nginx "$@"
  if [ "${1:-start}" != stop ]; then echo "$MDMKIT_BENCH_NGINX_URL"; fi
else
  mdmkit_nginx "$@"
fi
