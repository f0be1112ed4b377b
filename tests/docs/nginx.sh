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
chmod 755 "$tmp" # as root, nginx workers run as an unprivileged user and write temp files here

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dropfix.example.com" \
	-keyout "$tmp/ssl/key.pem" -out "$tmp/ssl/cert.pem" >/dev/null 2>&1

# The site's placeholder certificate paths must be the ones the guide names.
grep -q '^ *ssl_certificate  *\/etc\/ssl\/' "$site" || { echo "ssl_certificate is not a /etc/ssl/ placeholder"; exit 1; }
grep -q '^ *ssl_certificate_key  *\/etc\/ssl\/' "$site" || { echo "ssl_certificate_key is not a /etc/ssl/ placeholder"; exit 1; }

# free_port: a loopback port nothing listens on now (and not one handed out already).
used=" "
free_port() {
	local p fd i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		case $used in *" $p "*) continue ;; esac
		if { exec {fd}<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null; then
			exec {fd}>&-
			continue
		fi
		used="$used$p "
		echo "$p"
		return 0
	done
	return 1
}
http_port=$(free_port)
https_port=$(free_port)
echo_port=$(free_port)

# nginx binds the listen sockets even for `nginx -t`: move 80/443 to free high ports so
# the check needs no root and never contends with a system nginx. Without IPv6 on this
# machine, the [::] listeners are left out of the copy.
sed -E -e "s#^( *ssl_certificate) +/etc/ssl/[^;]+;#\1 $tmp/ssl/cert.pem;#" \
	-e "s#^( *ssl_certificate_key) +/etc/ssl/[^;]+;#\1 $tmp/ssl/key.pem;#" \
	-e "s#^( *listen +(\[::\]:)?)80([ ;])#\1$http_port\3#" \
	-e "s#^( *listen +(\[::\]:)?)443([ ;])#\1$https_port\3#" \
	"$site" >"$tmp/conf/site.conf"
if [ ! -e /proc/net/if_inet6 ]; then
	sed -i -E '/^ *listen +\[::\]/d' "$tmp/conf/site.conf"
fi
if grep -Eq '^ *listen +(\[::\]:)?(80|443)[ ;]' "$tmp/conf/site.conf"; then
	echo "could not move the listen ports"
	exit 1
fi

# write_main SITE [EXTRA]: a minimal nginx.conf including SITE (and the file EXTRA),
# every path inside $tmp.
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
    ${2:+include $2;}
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

# 3. Behaviour: run the site for real, with a stand-in for DropFix (another nginx server
# that echoes the headers it receives), and send it requests.
sed -E "s#^( *server +)127\.0\.0\.1:8080;#\1127.0.0.1:$echo_port;#" "$tmp/conf/site.conf" >"$tmp/conf/live.conf"
cat >"$tmp/conf/echo.conf" <<EOF
server {
    listen 127.0.0.1:$echo_port;
    location / {
        return 200 "xff=[\$http_x_forwarded_for] host=[\$http_host] proto=[\$http_x_forwarded_proto] realip=[\$http_x_real_ip] fwd=[\$http_forwarded]\n";
    }
}
EOF
write_main "$tmp/conf/live.conf" "$tmp/conf/echo.conf"
nginx -p "$tmp/" -c "$tmp/conf/nginx.conf" -e "$tmp/logs/error.log" -g 'daemon off;' >"$tmp/logs/run.out" 2>&1 &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
name=dropfix.example.com
c=(curl -sS --max-time 5 --cacert "$tmp/ssl/cert.pem" --resolve "$name:$https_port:127.0.0.1"
	--resolve "$name:$http_port:127.0.0.1")
for i in $(seq 1 100); do
	"${c[@]}" -o /dev/null "https://$name:$https_port/" 2>/dev/null && break
	kill -0 "$nginx_pid" 2>/dev/null || break
	sleep 0.05
done
fail=0
check() { # DESCRIPTION EXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		echo "behaviour: $1: expected [$2], got [$3]"
		fail=1
	fi
}
body=$("${c[@]}" -H 'X-Forwarded-For: 203.0.113.66' -H 'X-Real-IP: 203.0.113.66' \
	-H 'Forwarded: for=203.0.113.66' "https://$name:$https_port/w/1/x" 2>&1) || true
check "headers DropFix receives (X-Forwarded-For replaced, spoofed headers dropped)" \
	"xff=[127.0.0.1] host=[$name] proto=[https] realip=[] fwd=[]" "$body"
hsts=$("${c[@]}" -o /dev/null -D - "https://$name:$https_port/" 2>&1 | tr -d '\r' | tr 'A-Z' 'a-z' |
	grep '^strict-transport-security:' || true)
check "HSTS header" "strict-transport-security: max-age=63072000" "$hsts"
redirect=$("${c[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://$name:$http_port/a/b?c=d" 2>&1) || true
check "http redirect" "301 https://$name/a/b?c=d" "$redirect"
big=$(head -c 1100000 /dev/zero | "${c[@]}" -o /dev/null -w '%{http_code}' --data-binary @- \
	"https://$name:$https_port/v1/batch" 2>&1) || true
check "body over 1 MiB" "413" "$big"
ok=$(head -c 900000 /dev/zero | "${c[@]}" -o /dev/null -w '%{http_code}' --data-binary @- \
	"https://$name:$https_port/v1/batch" 2>&1) || true
check "body under 1 MiB" "200" "$ok"
other=$(curl -sS --max-time 5 -k --resolve "other.example:$https_port:127.0.0.1" -o /dev/null \
	-w '%{http_code}' "https://other.example:$https_port/" 2>/dev/null) || true
check "unknown TLS name gets no answer" "000" "$other"
if [ "$fail" -ne 0 ]; then
	echo "nginx log:"
	tail -n 5 "$tmp/logs/error.log" "$tmp/logs/run.out"
	exit 1
fi
kill "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true

# 4. What docs/deploy.md promises (directive present with the stated value).
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

# 5. The hardened unit keeps its promises (docs/deploy.md).
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

# 6. Optional: the systemd units, when systemd-analyze exists (never a dependency).
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
