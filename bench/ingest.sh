# Benchmark: durable ingestion (POST /v1/batch, 200 only after the group commit) with
# single-event requests and 50-event batches, each beside nginx `return 204` answering the
# same requests (same wrk script) and the Node.js reference of bench/noderef.sh (fastify +
# better-sqlite3, same synchronous setting), plus dropfix's RSS and CPU time per request.
# SQLite synchronous: FULL (default; a 200 survives process crash and power loss), or
# NORMAL with DROPFIX_BENCH_SYNC=NORMAL (dropfix gets DROPFIX_SQLITE_SYNCHRONOUS=NORMAL: a
# 200 survives a process crash, not a power loss). Sourced by bench/run.sh.

bench_register ingest "POST /v1/batch: 1-event req/s + p99 and 50-event batches events/s vs nginx 204 and a Node reference (wrk -t${BENCH_WRK_THREADS} -c${BENCH_WRK_CONNS} -d${BENCH_DURATION}s, Lua script), RSS peak"

# proc_cpu_ticks PID: user + system CPU clock ticks the process has used (0 if gone).
proc_cpu_ticks() {
	# fields after "(comm) ": state is 1, utime 12, stime 13
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0
}

# thread_cpu_ticks PID COMM: user + system CPU clock ticks of PID's threads named COMM
# ("nan" when it has none: a binary from before the writer thread was named).
thread_cpu_ticks() {
	local t sum=0 v found=0
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] || continue
		v=$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		sum=$((sum + ${v:-0}))
		found=1
	done
	if [ "$found" = 1 ]; then echo "$sum"; else echo nan; fi
}

bench_ingest() {
	start_nginx || return 1
	local data="$BENCH_TMP/ingest-data" log="$BENCH_TMP/ingest-dropfix.log"
	mkdir -p "$data"
	# an account and a workspace for the key (the CLI, before the server starts)
	DROPFIX_DATA_DIR=$data DROPFIX_LOG_LEVEL=warn "$BENCH_BIN" account create --email bench@example.test \
		--name bench <<<'a long enough password' >/dev/null 2>>"$log" || { say "ingest: account create failed"; return 1; }
	local ws
	ws=$(DROPFIX_DATA_DIR=$data DROPFIX_LOG_LEVEL=warn "$BENCH_BIN" workspace create --owner bench@example.test \
		--name Bench 2>>"$log") || { say "ingest: workspace create failed"; return 1; }
	export BENCH_KEY
	BENCH_KEY=$(printf '%s' "$ws" | sed -n 's/.*"secret_key":"\([^"]*\)".*/\1/p')
	[ -n "$BENCH_KEY" ] || { say "ingest: no key in $ws"; return 1; }
	# measure the pipeline, not the per-workspace rate limit (one workspace here)
	export DROPFIX_INGEST_RATE=10000000 DROPFIX_INGEST_BURST=100000000
	export DROPFIX_SQLITE_SYNCHRONOUS=${DROPFIX_BENCH_SYNC:-FULL}
	case $DROPFIX_SQLITE_SYNCHRONOUS in
	FULL | NORMAL) ;;
	*) say "ingest: DROPFIX_BENCH_SYNC must be FULL or NORMAL, not '$DROPFIX_SQLITE_SYNCHRONOUS'"; return 1 ;;
	esac
	start_dropfix "$data" "$log" || return 1
	# the Node.js reference (bench/noderef.sh): fastify + better-sqlite3, same synchronous
	start_noderef "$BENCH_TMP/noderef" || return 1
	local nurl="http://127.0.0.1:$NGINX_PORT/v1/batch" durl="http://127.0.0.1:$DROPFIX_PORT/v1/batch"
	local rurl="http://127.0.0.1:$NODEREF_PORT/v1/batch" r_acked=0 r_errors=0 d_acked=0
	local samples="$BENCH_TMP/ingest-rss.txt" sampler errors=0 per
	: >"$samples"
	export WRK_SCRIPT=bench/ingest.lua BENCH_EVENTS
	for per in 1 50; do
		BENCH_EVENTS=$per
		say "ingest: $per event(s) per request, warm-up (2 s each)"
		wrk_run "ingest$per-warm-nginx" "$nurl" 2s || return 1
		wrk_run "ingest$per-warm-dropfix" "$durl" 2s || return 1
		d_acked=$((d_acked + $(wrk_reqs "ingest$per-warm-dropfix") * per))
		WRK_TIMEOUT=30s wrk_run "ingest$per-warm-node" "$rurl" 2s || return 1
		r_errors=$((r_errors + WRK_ERRORS))
		r_acked=$((r_acked + $(wrk_reqs "ingest$per-warm-node") * per))
		local -a n_rps=() n_p99=() d_rps=() d_p99=() r_rps=() r_p99=() d_cpu=() d_wcpu=()
		local round order target
		for ((round = 1; round <= BENCH_ROUNDS; round++)); do
			if ((round % 2)); then order="nginx dropfix node"; else order="node dropfix nginx"; fi
			for target in $order; do
				say "ingest: $per event(s), round $round/$BENCH_ROUNDS, $target (${BENCH_DURATION}s)"
				if [ "$target" = nginx ]; then
					wrk_run "ingest$per-nginx-$round" "$nurl" "${BENCH_DURATION}s" || return 1
					n_rps+=("$WRK_RPS")
					n_p99+=("$WRK_P99_MS")
				elif [ "$target" = node ]; then
					# 30 s wrk timeout: its p99 under FULL is above wrk's default 2 s
					WRK_TIMEOUT=30s wrk_run "ingest$per-node-$round" "$rurl" "${BENCH_DURATION}s" || return 1
					r_errors=$((r_errors + WRK_ERRORS))
					r_rps+=("$WRK_RPS")
					r_p99+=("$WRK_P99_MS")
					r_acked=$((r_acked + $(wrk_reqs "ingest$per-node-$round") * per))
				else
					rss_sampler "$DROPFIX_PID" "$samples" &
					sampler=$!
					local t0 t1 w0 w1
					t0=$(proc_cpu_ticks "$DROPFIX_PID")
					w0=$(thread_cpu_ticks "$DROPFIX_PID" ingest-writer)
					wrk_run "ingest$per-dropfix-$round" "$durl" "${BENCH_DURATION}s" || { kill "$sampler"; return 1; }
					t1=$(proc_cpu_ticks "$DROPFIX_PID")
					w1=$(thread_cpu_ticks "$DROPFIX_PID" ingest-writer)
					kill "$sampler" 2>/dev/null
					wait "$sampler" 2>/dev/null
					# CPU microseconds per request: less sensitive to other load than req/s
					d_cpu+=("$(awk -v a="$t0" -v b="$t1" -v n="$(wrk_reqs "ingest$per-dropfix-$round")" -v hz="$(getconf CLK_TCK)" \
						'BEGIN { if (n > 0 && b >= a) printf "%.1f\n", (b - a) * 1e6 / hz / n; else print "nan" }')")
					[ "$w0" = nan ] || [ "$w1" = nan ] || d_wcpu+=("$(awk -v a="$w0" -v b="$w1" -v n="$(wrk_reqs "ingest$per-dropfix-$round")" -v hz="$(getconf CLK_TCK)" \
						'BEGIN { if (n > 0 && b >= a) printf "%.1f\n", (b - a) * 1e6 / hz / n; else print "nan" }')")
					d_acked=$((d_acked + $(wrk_reqs "ingest$per-dropfix-$round") * per))
					d_rps+=("$WRK_RPS")
					d_p99+=("$WRK_P99_MS")
				fi
				[ "$target" = node ] || errors=$((errors + WRK_ERRORS))
			done
		done
		local nr np dr dp note=""
		nr=$(median "${n_rps[@]}")
		np=$(median "${n_p99[@]}")
		dr=$(median "${d_rps[@]}")
		dp=$(median "${d_p99[@]}")
		[ "$BENCH_ROUNDS" -gt 1 ] && note="median of $BENCH_ROUNDS rounds"
		result ingest "nginx_204_rps_${per}ev" "$nr" req/s "$note"
		result ingest "dropfix_rps_${per}ev" "$dr" req/s "${note:+$note; }synchronous=$DROPFIX_SQLITE_SYNCHRONOUS"
		result ingest "dropfix_cpu_us_per_req_${per}ev" "$(median "${d_cpu[@]}")" us "$note${note:+; }user+system CPU of the dropfix process / requests"
		result ingest "dropfix_writer_cpu_us_per_req_${per}ev" "$( ((${#d_wcpu[@]})) && median "${d_wcpu[@]}" || echo nan)" us "$note${note:+; }of which the ingest-writer thread (the serial part: one thread commits every group)"
		result ingest "dropfix_events_per_s_${per}ev" "$(awk -v r="$dr" -v p="$per" 'BEGIN { printf "%.0f\n", r * p }')" events/s "$note"
		result ingest "dropfix_p99_${per}ev" "$dp" ms "$note"
		result ingest "nginx_204_p99_${per}ev" "$np" ms "$note"
		result ingest "rps_ratio_dropfix_over_nginx_${per}ev" "$(ratio "$dr" "$nr")" x "$( ((per == 1)) && echo 'issue 5 aim: >= 0.5 (profile and fix below 0.35)' || echo 'batches: see events/s (issue 5 aim >= 100k, fix below 60k)')"
		local rr rp
		rr=$(median "${r_rps[@]}")
		rp=$(median "${r_p99[@]}")
		result ingest "node_ref_rps_${per}ev" "$rr" req/s "${note:+$note; }fastify+better-sqlite3 synchronous=$NODEREF_SYNC"
		result ingest "node_ref_events_per_s_${per}ev" "$(awk -v r="$rr" -v p="$per" 'BEGIN { printf "%.0f\n", r * p }')" events/s "$note"
		result ingest "node_ref_p99_${per}ev" "$rp" ms "$note"
		result ingest "rps_ratio_dropfix_over_node_${per}ev" "$(ratio "$dr" "$rr")" x "$( ((per == 1)) && echo 'issue 5 aim: >= 3')"
		result ingest "p99_ratio_dropfix_over_node_${per}ev" "$(ratio "$dp" "$rp")" x "lower is better"
	done
	unset WRK_SCRIPT
	local hwm peak
	hwm=$(proc_kb "$DROPFIX_PID" VmHWM)
	peak=$(awk -v h="$hwm" '$1 + 0 > m { m = $1 + 0 } END { if (h + 0 > m) m = h + 0; print (m ? m : "nan") }' "$samples")
	kill -0 "$DROPFIX_PID" 2>/dev/null || { say "dropfix exited during the load"; return 1; }
	result ingest dropfix_rss_peak "$peak" kB "max of VmRSS sampled every 100 ms under load and VmHWM (aim <= 100 MB)"
	result ingest errors "$errors" count "socket errors + non-2xx answers, dropfix and nginx (fails the bench)"
	stop_pid "$DROPFIX_PID"
	stop_pid "$NGINX_PID"
	stop_pid "$NODEREF_PID"
	local r_stored d_stored=nan
	r_stored=$(noderef_stored "$BENCH_TMP/noderef")
	# every acknowledged event is a distinct message_id: all of them must be stored (a
	# bench that sends duplicate ids would measure de-duplication instead of ingestion)
	command -v sqlite3 >/dev/null && d_stored=$(sqlite3 "$data/dropfix.db" 'SELECT count(*) FROM events' 2>/dev/null)
	result ingest dropfix_events_stored "${d_stored:-nan}" count "wrk counted $d_acked events sent and answered 200 (incl. warm-up); stored >= answered"
	result ingest node_ref_errors "$r_errors" count "socket errors + non-2xx answers of the Node reference (reported, not fatal)"
	result ingest node_ref_events_stored "$r_stored" count "wrk counted $r_acked events sent and answered (incl. warm-up)"
	if [ "$errors" -gt 0 ]; then
		say "ingest: $errors errors during the load (see $BENCH_TMP/wrk-ingest*.txt)"
		return 1
	fi
}
