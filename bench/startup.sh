# Benchmarks: binary size, and cold start (exec of `dropfix serve` on a fresh data
# directory to the first 200 from /healthz). Sourced by bench/run.sh.

bench_register size "size of build/dropfix, as built and stripped"
bench_register coldstart "exec of dropfix serve to first /healthz 200, fresh data dir (median of ${BENCH_STARTS})"

bench_size() {
	local bytes stripped
	bytes=$(stat -c %s "$BENCH_BIN") || return 1
	strip -o "$BENCH_TMP/dropfix.stripped" "$BENCH_BIN" || return 1
	stripped=$(stat -c %s "$BENCH_TMP/dropfix.stripped") || return 1
	result size binary_bytes "$bytes" bytes "build/dropfix (-O2 -g)"
	result size binary_stripped_bytes "$stripped" bytes "strip -o"
}

bench_coldstart() {
	local i t0 t1 port pid data log
	local -a starts stops
	for ((i = 1; i <= BENCH_STARTS; i++)); do
		data="$BENCH_TMP/coldstart-$i"
		log="$BENCH_TMP/coldstart-$i.log"
		mkdir -p "$data"
		port=$(free_port) || return 1
		t0=$(now_us)
		DROPFIX_DATA_DIR=$data DROPFIX_LISTEN=127.0.0.1:$port DROPFIX_LOG_LEVEL=warn \
			"$BENCH_BIN" serve >"$log" 2>&1 &
		pid=$!
		track "$pid"
		if ! wait_status "$port" /healthz 200 30 "$pid"; then
			say "coldstart: start $i did not answer /healthz; log:"
			tail -20 "$log" >&2
			return 1
		fi
		t1=$(now_us)
		starts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')")
		stop_pid "$pid"
		stops+=("$STOP_MS")
	done
	say "coldstart: starts ${starts[*]} ms; stops ${stops[*]} ms"
	result coldstart start_to_healthz_median "$(median "${starts[@]}")" ms "fresh data dir, ${BENCH_STARTS} starts"
	result coldstart start_to_healthz_max "$(printf '%s\n' "${starts[@]}" | sort -g | tail -1)" ms
	result coldstart sigterm_to_exit_median "$(median "${stops[@]}")" ms "idle server, graceful stop"
}
