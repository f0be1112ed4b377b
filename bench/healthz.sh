# Benchmark: dropfix serve GET /healthz against nginx `return 204` (the baseline), both
# measured by the same wrk invocation in the same run, plus dropfix's memory under load.
# Sourced by bench/run.sh.

bench_register healthz "GET /healthz req/s and p99 vs nginx 204 (wrk -t${BENCH_WRK_THREADS} -c${BENCH_WRK_CONNS} -d${BENCH_DURATION}s), RSS idle/peak/after"

# rss_sampler PID FILE: appends VmRSS (kB) of PID to FILE every 100 ms until killed.
rss_sampler() {
	while kill -0 "$1" 2>/dev/null; do
		proc_kb "$1" VmRSS >>"$2"
		sleep 0.1
	done
}

bench_healthz() {
	start_nginx || return 1
	start_dropfix "$BENCH_TMP/healthz-data" "$BENCH_TMP/healthz-dropfix.log" || return 1
	local nurl="http://127.0.0.1:$NGINX_PORT/" durl="http://127.0.0.1:$DROPFIX_PORT/healthz"

	sleep 1 # let start-up work (migrations, first checkpoint) settle
	local idle_rss
	idle_rss=$(proc_kb "$DROPFIX_PID" VmRSS)

	say "healthz: warm-up (2 s each)"
	wrk_run warm-nginx "$nurl" 2s || return 1
	wrk_run warm-dropfix "$durl" 2s || return 1

	local -a n_rps n_p99 d_rps d_p99
	local errors=0 round order target samples="$BENCH_TMP/healthz-rss.txt" sampler
	: >"$samples"
	for ((round = 1; round <= BENCH_ROUNDS; round++)); do
		# Alternate which server goes first so drift (thermal, neighbours) hits both.
		if ((round % 2)); then order="nginx dropfix"; else order="dropfix nginx"; fi
		for target in $order; do
			say "healthz: round $round/$BENCH_ROUNDS, $target (${BENCH_DURATION}s)"
			if [ "$target" = nginx ]; then
				wrk_run "nginx-$round" "$nurl" "${BENCH_DURATION}s" || return 1
				n_rps+=("$WRK_RPS")
				n_p99+=("$WRK_P99_MS")
			else
				rss_sampler "$DROPFIX_PID" "$samples" &
				sampler=$!
				wrk_run "dropfix-$round" "$durl" "${BENCH_DURATION}s" || { kill "$sampler"; return 1; }
				kill "$sampler" 2>/dev/null
				wait "$sampler" 2>/dev/null
				d_rps+=("$WRK_RPS")
				d_p99+=("$WRK_P99_MS")
			fi
			errors=$((errors + WRK_ERRORS))
		done
	done
	sleep 1
	local after_rss hwm peak
	after_rss=$(proc_kb "$DROPFIX_PID" VmRSS)
	hwm=$(proc_kb "$DROPFIX_PID" VmHWM)
	# VmHWM is updated lazily by the kernel; the peak is the larger of it and the samples.
	peak=$(awk -v h="$hwm" '$1 + 0 > m { m = $1 + 0 } END { if (h + 0 > m) m = h + 0; print (m ? m : "nan") }' "$samples")
	kill -0 "$DROPFIX_PID" 2>/dev/null || { say "dropfix exited during the load"; return 1; }

	local nr np dr dp note=""
	nr=$(median "${n_rps[@]}")
	np=$(median "${n_p99[@]}")
	dr=$(median "${d_rps[@]}")
	dp=$(median "${d_p99[@]}")
	[ "$BENCH_ROUNDS" -gt 1 ] && note="median of $BENCH_ROUNDS rounds"
	result healthz nginx_204_rps "$nr" req/s "$note"
	result healthz nginx_204_p99 "$np" ms "$note"
	result healthz dropfix_healthz_rps "$dr" req/s "$note"
	result healthz dropfix_healthz_p99 "$dp" ms "$note"
	result healthz rps_ratio_dropfix_over_nginx "$(ratio "$dr" "$nr")" x "ARCHITECTURE §8: libmicrohttpd hello ≈ 1.0–1.3"
	result healthz p99_ratio_dropfix_over_nginx "$(ratio "$dp" "$np")" x
	result healthz errors "$errors" count "socket errors + non-2xx answers, both servers"
	result healthz dropfix_rss_idle "$idle_rss" kB "VmRSS before any load"
	result healthz dropfix_rss_peak "$peak" kB "max of VmRSS sampled every 100 ms under load and VmHWM"
	result healthz dropfix_rss_hwm "$hwm" kB "VmHWM after the run"
	result healthz dropfix_rss_after "$after_rss" kB "VmRSS 1 s after the load"

	stop_pid "$DROPFIX_PID"
	stop_pid "$NGINX_PID"
	if [ "$errors" -gt 0 ]; then
		say "healthz: $errors errors during the load (see $BENCH_TMP/wrk-*.txt)"
		return 1
	fi
}
