#!/usr/bin/env bash
# Checks docs/nginx/dropfix.conf (and docs/systemd/*.service): `nginx -t` accepts it inside a throw-away nginx tree
# (temp prefix, pid, error log and temp paths, a freshly generated self-signed
# certificate), and the settings docs/deploy.md promises are present. Never touches
# /etc/nginx or a running system nginx.
# Usage: tests/docs/nginx.sh [SITE_FILE]   (default docs/nginx/dropfix.conf)
set -euo pipefail
cd "$(dirname "$0")/../.."
site=${1:-docs/nginx/dropfix.conf}

command -v nginx >/dev/null || { echo "nginx not installed (scripts/install-deps.sh installs nginx-light)"; exit 1; }
command -v openssl >/dev/null || { echo "openssl not installed"; exit 1; }
[ -f "$site" ] || { echo "missing $site"; exit 1; }

tmp=$(mktemp -d "${DROPFIX_TEST_TMP:-/tmp}/nginx-site.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/conf" "$tmp/logs" "$tmp/temp" "$tmp/ssl"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dropfix.example.com" \
	-keyout "$tmp/ssl/key.pem" -out "$tmp/ssl/cert.pem" >/dev/null 2>&1

# The site's placeholder certificate paths must be the ones the guide names.
grep -q '^ *ssl_certificate  *\/etc\/ssl\/' "$site" || { echo "ssl_certificate is not a /etc/ssl/ placeholder"; exit 1; }
grep -q '^ *ssl_certificate_key  *\/etc\/ssl\/' "$site" || { echo "ssl_certificate_key is not a /etc/ssl/ placeholder"; exit 1; }
# `nginx -t` binds the listen sockets (tolerating "in use"): move 80/443 to high ports so
# the check needs no root and never contends with a system nginx.
sed -E -e "s#^( *ssl_certificate) +/etc/ssl/[^;]+;#\1 $tmp/ssl/cert.pem;#" \
	-e "s#^( *ssl_certificate_key) +/etc/ssl/[^;]+;#\1 $tmp/ssl/key.pem;#" \
	-e 's#^( *listen +(\[::\]:)?)80([ ;])#\118080\3#' \
	-e 's#^( *listen +(\[::\]:)?)443([ ;])#\118443\3#' \
	"$site" >"$tmp/conf/site.conf"
if grep -Eq '^ *listen +(\[::\]:)?(80|443)[ ;]' "$tmp/conf/site.conf"; then
	echo "could not move the listen ports"
	exit 1
fi

# write_main SITE: a minimal nginx.conf including SITE, every path inside $tmp.
write_main() {
	cat >"$tmp/conf/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/logs/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/temp/body;
    proxy_temp_path $tmp/temp/proxy;
    fastcgi_temp_path $tmp/temp/fastcgi;
    uwsgi_temp_path $tmp/temp/uwsgi;
    scgi_temp_path $tmp/temp/scgi;
    include $1;
}
EOF
}

nginx_t() {
	nginx -t -q -p "$tmp/" -c "$tmp/conf/nginx.conf" -e "$tmp/logs/error.log"
}

# 1. The harness itself must reject a broken site (otherwise a pass means nothing).
sed -e 's/proxy_read_timeout *30s;/proxy_read_timeout 30s/' "$tmp/conf/site.conf" >"$tmp/conf/broken.conf"
cmp -s "$tmp/conf/site.conf" "$tmp/conf/broken.conf" && { echo "could not derive a broken copy of the site"; exit 1; }
write_main "$tmp/conf/broken.conf"
if nginx_t >"$tmp/broken.out" 2>&1; then
	echo "nginx -t accepted a deliberately broken site: the check is not working"
	exit 1
fi

# 2. The real site.
write_main "$tmp/conf/site.conf"
if ! nginx_t >"$tmp/t.out" 2>&1; then
	echo "nginx -t rejected $site:"
	cat "$tmp/t.out"
	exit 1
fi
if grep -q '\[warn\]' "$tmp/t.out"; then
	echo "nginx -t warns about $site:"
	cat "$tmp/t.out"
	exit 1
fi

# 3. What docs/deploy.md promises (directive present with the stated value).
fail=0
need() {
	if ! grep -Eq "$1" "$site"; then
		echo "missing in $site: $2"
		fail=1
	fi
}
need '^ *ssl_protocols +TLSv1\.2 +TLSv1\.3 *;' 'ssl_protocols TLSv1.2 TLSv1.3 (nothing older)'
need 'add_header +Strict-Transport-Security +"max-age=[0-9]{8,}[^"]*" +always *;' 'HSTS of at least a year'
need 'return +301 +https://' 'http to https redirect'
need '^ *listen +443 +ssl' 'listen 443 ssl'
need '^ *listen +80 *;' 'listen 80 (redirect server)'
need '^ *client_max_body_size +1m *;' 'client_max_body_size 1m'
need '^ *client_header_timeout +[0-9]+s *;' 'client_header_timeout'
need '^ *client_body_timeout +[0-9]+s *;' 'client_body_timeout'
need '^ *send_timeout +[0-9]+s *;' 'send_timeout'
need '^ *keepalive_timeout +[0-9]+s *;' 'keepalive_timeout'
need '^ *large_client_header_buffers +[0-9]+ +[0-9]+k *;' 'large_client_header_buffers'
need '^ *proxy_set_header +Host +\$host *;' 'proxy_set_header Host $host'
need '^ *proxy_set_header +X-Forwarded-For +\$remote_addr *;' 'X-Forwarded-For replaced by $remote_addr'
need '^ *proxy_set_header +X-Forwarded-Proto +\$scheme *;' 'X-Forwarded-Proto'
need 'live/stream' 'a location for the live feed stream'
need '^ *proxy_buffering +off *;' 'proxy_buffering off (live feed)'
need '^ *limit_req_zone ' 'limit_req_zone example'
need '^ *limit_conn_zone ' 'limit_conn_zone example'
need 'proxy_pass +http://dropfix *;' 'proxy_pass to the dropfix upstream'
need 'server +127\.0\.0\.1:8080 *;' 'upstream 127.0.0.1:8080'
if grep -Eq '^[^#]*proxy_add_x_forwarded_for' "$site"; then
	echo "$site appends to X-Forwarded-For; it must replace it"
	fail=1
fi
if grep -Eq '^[^#]*ssl_protocols[^;]*(SSLv|TLSv1 |TLSv1;|TLSv1\.1)' "$site"; then
	echo "$site enables a protocol older than TLS 1.2"
	fail=1
fi
[ "$fail" -eq 0 ] || exit 1

# 4. The hardened unit keeps its promises (docs/deploy.md).
unit=docs/systemd/dropfix.service
for d in '^ProtectSystem=strict$' '^ProtectHome=yes$' '^PrivateTmp=yes$' '^NoNewPrivileges=yes$' \
	'^CapabilityBoundingSet=$' '^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$' \
	'^SystemCallFilter=@system-service$' '^MemoryDenyWriteExecute=yes$' \
	'^LoadCredential=master\.key:/' '^Environment=DROPFIX_MASTER_KEY_FILE=%d/master\.key$' \
	'^Restart=on-failure$' '^KillSignal=SIGTERM$' '^TimeoutStopSec=' '^StateDirectory=dropfix$' \
	'^(DynamicUser=yes|User=)'; do
	grep -Eq "$d" "$unit" || { echo "missing in $unit: $d"; fail=1; }
done
[ "$fail" -eq 0 ] || exit 1

# 5. Optional: the systemd units, when systemd-analyze exists (never a dependency).
if command -v systemd-analyze >/dev/null; then
	for unit in docs/systemd/*.service; do
		[ -e "$unit" ] || continue
		# verify wants ExecStart's binary to exist: check a copy pointing at /bin/true.
		udir="$tmp/units"
		mkdir -p "$udir"
		sed -E 's#^(ExecStart(Pre)?=[-!+@]*)/usr/local/bin/dropfix#\1/bin/true#' "$unit" >"$udir/$(basename "$unit")"
		if ! out=$(systemd-analyze verify --man=no "$udir/$(basename "$unit")" 2>&1); then
			echo "systemd-analyze verify $unit failed:"
			echo "$out"
			exit 1
		fi
		# verify exits 0 on unknown directives but prints them: treat any output as failure.
		if [ -n "$out" ]; then
			echo "systemd-analyze verify $unit:"
			echo "$out"
			exit 1
		fi
	done
else
	echo "systemd-analyze not installed: unit files not verified (optional)"
fi
echo "nginx site ok"
