# Node.js reference for the ingest benchmark (issue 5): bench/node-ref/server.mjs (fastify +
# better-sqlite3@12, one multi-row INSERT per request, WAL) with the same `synchronous`
# setting as dropfix in the run: FULL, or NORMAL when DROPFIX_BENCH_SYNC=NORMAL.
# Sourced by bench/run.sh; bench_ingest calls start_noderef and measures it beside dropfix
# and nginx. Registers no benchmark of its own.

# start_noderef DIR: the reference server on a free port with its database in DIR; waits
# for /healthz. Sets NODEREF_PID, NODEREF_PORT, NODEREF_SYNC.
start_noderef() {
	local dir=$1 log=$1/noderef.log
	command -v node >/dev/null || { say "noderef: node not installed"; return 1; }
	if [ ! -d node_modules/fastify ] || [ ! -d node_modules/better-sqlite3 ]; then
		say "noderef: node_modules lacks fastify/better-sqlite3 (npm ci)"
		return 1
	fi
	NODEREF_SYNC=${DROPFIX_BENCH_SYNC:-FULL}
	case $NODEREF_SYNC in
	FULL | NORMAL) ;;
	*) say "noderef: DROPFIX_BENCH_SYNC must be FULL or NORMAL, not '$NODEREF_SYNC'"; return 1 ;;
	esac
	mkdir -p "$dir"
	NODEREF_PORT=$(free_port) || { say "no free port"; return 1; }
	NODEREF_PORT=$NODEREF_PORT NODEREF_DB=$dir/events.db NODEREF_SYNC=$NODEREF_SYNC \
		node bench/node-ref/server.mjs >>"$log" 2>&1 &
	NODEREF_PID=$!
	track "$NODEREF_PID"
	if ! wait_status "$NODEREF_PORT" /healthz 200 30 "$NODEREF_PID"; then
		say "noderef did not answer /healthz on port $NODEREF_PORT; its log:"
		tail -20 "$log" >&2
		return 1
	fi
}

# noderef_stored DIR: prints how many events the reference stored (sanity check that it
# really inserted what it acknowledged); "nan" when sqlite3 is missing.
noderef_stored() {
	if command -v sqlite3 >/dev/null; then
		sqlite3 "$1/events.db" 'SELECT count(*) FROM events' 2>/dev/null || echo nan
	else
		echo nan
	fi
}

# wrk_reqs LABEL: the number of completed requests in wrk_run LABEL's raw output (0 if none).
wrk_reqs() {
	awk '$2 == "requests" && $3 == "in" { n = $1 } END { print n + 0 }' "$BENCH_TMP/wrk-$1.txt" 2>/dev/null || echo 0
}
