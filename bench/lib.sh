# Helpers for bench/run.sh and the benchmark files it sources (bench/*.sh).
# Sourced, not run. Every process a helper starts is tracked and stopped by pid on exit;
# every file lives under $BENCH_TMP.
#
# A benchmark file defines `bench_<name>` and calls `bench_register <name> "<what>"`.
# Inside, it records numbers with `result <bench> <metric> <value> <unit> [note]`.

BENCH_NAMES=()
declare -A BENCH_DESC
BENCH_PIDS=()

# bench_register NAME DESCRIPTION: makes `bench/run.sh NAME` run bench_NAME.
bench_register() {
	BENCH_NAMES+=("$1")
	BENCH_DESC[$1]=$2
}

# nap SECONDS: sleeps without forking (a read that times out on a pipe we hold both
# ends of), so polling loops stay precise to about a millisecond.
exec {BENCH_NAP_FD}<> <(:)
nap() { read -r -t "$1" -u "$BENCH_NAP_FD" _ || true; }

say() { printf 'bench: %s\n' "$*" >&2; }

# result BENCH METRIC VALUE UNIT [NOTE]: records one number (tab-separated file).
result() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$BENCH_RESULTS_TSV"
}

# now_us: wall-clock microseconds, no fork (bash 5).
now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "$t"
}

# median N...: the median of numbers (mean of the two middle values for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with three decimals ("nan" when B is 0 or not a number).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.3f\n", a / b }'
}

# free_port: a loopback TCP port nobody is listening on right now.
free_port() {
	local p i fd
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if { exec {fd}<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null; then
			exec {fd}>&-
			continue
		fi
		echo "$p"
		return 0
	done
	return 1
}

# http_status PORT PATH: sets HTTP_STATUS to the status code of GET PATH on 127.0.0.1:PORT
# ("000" when nothing answers). Runs in the current shell (no fork), so a polling loop
# built on it measures start times to a millisecond or two.
http_status() {
	local fd line
	HTTP_STATUS=000
	if ! { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
		return 1
	fi
	printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&"$fd" 2>/dev/null
	IFS= read -r -t 5 line <&"$fd" || line=""
	exec {fd}>&-
	case $line in
	HTTP/1.?\ [0-9][0-9][0-9]*) HTTP_STATUS=${line:9:3} ;;
	esac
	[ "$HTTP_STATUS" != 000 ]
}

# wait_status PORT PATH WANT TIMEOUT_S [PID]: polls until GET PATH answers WANT.
# Returns 1 on timeout or when PID (if given) exits first.
wait_status() {
	local port=$1 path=$2 want=$3 deadline=$(($(now_us) + $4 * 1000000)) pid=${5:-}
	while [ "$(now_us)" -lt "$deadline" ]; do
		http_status "$port" "$path"
		[ "$HTTP_STATUS" = "$want" ] && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		nap 0.001
	done
	return 1
}

# track PID: stop PID when the run ends.
track() { BENCH_PIDS+=("$1"); }

# stop_pid PID [TIMEOUT_S]: SIGTERM, wait up to TIMEOUT_S (default 10), then SIGKILL.
# Sets STOP_MS to how long the process took to exit after SIGTERM.
stop_pid() {
	local pid=$1 limit=${2:-10} t0 i
	STOP_MS=nan
	kill -0 "$pid" 2>/dev/null || return 0
	t0=$(now_us)
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < limit * 200; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		nap 0.005
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "pid $pid ignored SIGTERM for ${limit}s; killing"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	STOP_MS=$(awk -v a="$t0" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
	return 0
}

# stop_all: stops every tracked process (trap handler).
stop_all() {
	local p
	for p in "${BENCH_PIDS[@]}"; do
		stop_pid "$p" 5
	done
	BENCH_PIDS=()
}

# proc_kb PID FIELD: a kB value from /proc/PID/status (VmRSS, VmHWM, ...).
proc_kb() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print "nan" }' "/proc/$1/status" 2>/dev/null ||
		echo nan
}

# start_nginx: nginx (bench/nginx-204.conf) on a free port; sets NGINX_PID, NGINX_PORT.
start_nginx() {
	command -v nginx >/dev/null || { say "nginx not installed (scripts/install-deps.sh)"; return 1; }
	local prefix="$BENCH_TMP/nginx"
	mkdir -p "$prefix/tmp"
	NGINX_PORT=$(free_port) || { say "no free port"; return 1; }
	sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$NGINX_PORT#g" bench/nginx-204.conf >"$prefix/nginx.conf"
	nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>>"$prefix/stderr.log" &
	NGINX_PID=$!
	track "$NGINX_PID"
	if ! wait_status "$NGINX_PORT" / 204 10 "$NGINX_PID"; then
		say "nginx did not answer 204 on port $NGINX_PORT:"
		cat "$prefix/error.log" "$prefix/stderr.log" >&2 2>/dev/null
		return 1
	fi
}

# start_dropfix DATA_DIR [LOG]: `dropfix serve` on a free port with DATA_DIR; waits for
# /healthz. Sets DROPFIX_PID, DROPFIX_PORT.
start_dropfix() {
	local data=$1 log=${2:-$BENCH_TMP/dropfix.log}
	mkdir -p "$data"
	DROPFIX_PORT=$(free_port) || { say "no free port"; return 1; }
	DROPFIX_DATA_DIR=$data DROPFIX_LISTEN=127.0.0.1:$DROPFIX_PORT DROPFIX_LOG_LEVEL=warn \
		"$BENCH_BIN" serve >>"$log" 2>&1 &
	DROPFIX_PID=$!
	track "$DROPFIX_PID"
	if ! wait_status "$DROPFIX_PORT" /healthz 200 30 "$DROPFIX_PID"; then
		say "dropfix serve did not answer /healthz on port $DROPFIX_PORT; its log:"
		tail -20 "$log" >&2
		return 1
	fi
}

# wrk_run LABEL URL DURATION: runs `wrk -t2 -c64 -d<DURATION> --latency URL` and sets
# WRK_RPS, WRK_P50_MS, WRK_P99_MS, WRK_ERRORS (socket errors + non-2xx/3xx answers).
# WRK_SCRIPT (optional): a wrk Lua script (-s), e.g. bench/ingest.lua for POST bodies.
# WRK_TIMEOUT (optional): wrk --timeout (default 2s; slower answers count as errors).
# The raw output is kept in $BENCH_TMP/wrk-LABEL.txt.
wrk_run() {
	local label=$1 url=$2 dur=$3 out="$BENCH_TMP/wrk-$1.txt"
	wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_WRK_CONNS" -d"$dur" --latency ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} \
		${WRK_TIMEOUT:+--timeout "$WRK_TIMEOUT"} "$url" >"$out" 2>&1 || {
		say "wrk failed against $url:"
		cat "$out" >&2
		return 1
	}
	eval "$(awk '
		function ms(v,   n, u) {
			n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
			if (u == "us") return n / 1000; if (u == "ms") return n
			if (u == "s") return n * 1000; if (u == "m") return n * 60000
			return "nan"
		}
		$1 == "Requests/sec:" { rps = $2 }
		$1 == "50%" && !p50 { p50 = ms($2) }
		$1 == "99%" && !p99 { p99 = ms($2) }
		/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { err += $5 }
		END {
			printf "WRK_RPS=%s WRK_P50_MS=%s WRK_P99_MS=%s WRK_ERRORS=%d\n",
				(rps == "" ? "nan" : rps), (p50 == "" ? "nan" : p50), (p99 == "" ? "nan" : p99), err
		}' "$out")"
	[ "$WRK_RPS" != nan ]
}
