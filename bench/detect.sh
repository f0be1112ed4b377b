# Benchmarks `detect` and `pages` (issue 6 "Measure and report"). Sourced by bench/run.sh.
#
# Dataset: DROPFIX_BENCH_USERS tracked users (default 100,000) over 60 days, about 100
# events each (10 M events for 100k users), written straight into the ingestion tables of
# one workspace by bench/detect_gen.c (events, tracked_users, tracked_user_traits,
# feature_keys, user_daily, user_daily_features, consistent with each other as the
# ingestion writer keeps them; persona-shaped activity: steady, power, dropping,
# gone_quiet, trial, cancelling, payment, plus friction spikes; see the file's comment).
# 10 M events through /v1/batch would take minutes; the generator takes about a minute
# for SQLite and its result is cached: build/bench-cache/detect-<key>/ (the key: dataset
# version, users, the UTC day the data ends on, and a hash of the generator, so a new
# generator or a new day makes a new dataset; older ones of the same size are removed). A cached dataset
# is brought to the binary's schema with `dropfix migrate` before use (an upgrade, as an
# installation gets it; SQLite's pre-migration backup is removed from the cache).
# Each run measures on a copy of the cached data directory.
#
# detect: on SQLite, then PostgreSQL (a durable throw-away cluster, tests/lib/pg.sh;
# skipped with a note when it cannot start, or with DROPFIX_BENCH_DETECT_PG=0):
#   1. `dropfix detect --workspace ID --full`: the full pass over every user (timed),
#   2. `dropfix serve --no-jobs` and 10,000 new events for 2,000 users through the real
#      ingestion path (POST /v1/batch with the secret key, 50-event batches;
#      bench/detect_post.mjs); the server stops,
#   3. `dropfix detect --workspace ID`: the incremental pass over the changed users (timed).
# pages: `dropfix serve --no-jobs` on the SQLite dataset after the full pass; a signed-in
#   session (bench/pages.mjs) requests the overview /w/ID, the users list /w/ID/users,
#   two filtered and sorted users pages, one user's page and the signals page; 20
#   warm-up and 200 measured sequential requests each; median and p95.
#
# Environment: DROPFIX_BENCH_USERS (default 100000), DROPFIX_BENCH_DETECT_PG=0 (SQLite
# only), DROPFIX_BENCH_PAGE_REQUESTS (default 200).

bench_register detect "detector full pass over 100k users / 10M events (SQLite, PostgreSQL) and incremental pass after 10k new events"
bench_register pages "p50/p95 of the overview, users-list, user and signals pages over 100k users (signed-in session)"

DETECT_VERSION=1
DETECT_DAYS=60
DETECT_EMAIL=bench@dropfix.local
DETECT_PASSWORD="bench password 0001"
DETECT_SQLITE_DIR="" # this run's copy of the SQLite dataset (after the detect bench's passes)

detect_users() { echo "${DROPFIX_BENCH_USERS:-100000}"; }

detect_build_gen() {
	mkdir -p build/bench
	if [ ! -x build/bench/detect_gen ] || [ bench/detect_gen.c -nt build/bench/detect_gen ]; then
		cc -std=c17 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE -o build/bench/detect_gen bench/detect_gen.c \
			-lsqlite3 || return 1
	fi
}

# detect_seconds START_US: seconds since START_US with three decimals.
detect_seconds() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

# detect_account_ws ENV...: creates the bench account and workspace with the CLI (env
# passed to dropfix); prints the workspace JSON {"id","public_key","secret_key"}.
detect_account_ws() {
	printf '%s' "$DETECT_PASSWORD" | env "$@" "$BENCH_BIN" account create --email "$DETECT_EMAIL" \
		--name Bench >/dev/null || return 1
	env "$@" "$BENCH_BIN" workspace create --owner "$DETECT_EMAIL" --name "Bench" --product "Bench App"
}

json_field() { node -e 'const o = JSON.parse(process.argv[1]); process.stdout.write(String(o[process.argv[2]]))' "$1" "$2"; }

# detect_sqlite_dataset: ensures the cached SQLite dataset; sets DETECT_CACHE (its data
# directory) and DETECT_WS / DETECT_SK from its ws.json.
detect_sqlite_dataset() {
	detect_build_gen || return 1
	local users now_ms day key dir t0 ws_json
	users=$(detect_users)
	now_ms=$(($(date +%s) * 1000))
	day=$((now_ms / 86400000))
	key=$(sha256sum <bench/detect_gen.c | cut -c1-12)
	dir="build/bench-cache/detect-v$DETECT_VERSION-$users-$day-$key"
	if [ ! -f "$dir/ready" ]; then
		for old in build/bench-cache/detect-v*-"$users"-*; do
			[ -d "$old" ] && [ "$old" != "$dir" ] && rm -rf "$old"
		done
		rm -rf "$dir"
		mkdir -p "$dir/data"
		say "detect: generating the SQLite dataset ($users users, $DETECT_DAYS days) in $dir"
		t0=$(now_us)
		ws_json=$(detect_account_ws DROPFIX_DATA_DIR="$dir/data" DROPFIX_LOG_LEVEL=error) || return 1
		printf '%s\n' "$ws_json" >"$dir/ws.json"
		build/bench/detect_gen --ws "$(json_field "$ws_json" id)" --users "$users" --days "$DETECT_DAYS" \
			--now-ms "$now_ms" --sqlite "$dir/data/dropfix.db" 2>"$dir/gen.txt" || { cat "$dir/gen.txt" >&2; return 1; }
		say "detect: $(cat "$dir/gen.txt") in $(detect_seconds "$t0") s"
		touch "$dir/ready"
	else
		say "detect: cached SQLite dataset $dir ($(cat "$dir/gen.txt"))"
	fi
	if ! DROPFIX_DATA_DIR="$dir/data" "$BENCH_BIN" migrate --status 2>/dev/null | grep -q "up to date"; then
		t0=$(now_us)
		DROPFIX_DATA_DIR="$dir/data" DROPFIX_LOG_LEVEL=warn "$BENCH_BIN" migrate >"$dir/migrate.log" 2>&1 ||
			{ cat "$dir/migrate.log" >&2; return 1; }
		rm -rf "$dir/data/backups"
		say "detect: migrated the cached SQLite dataset in $(detect_seconds "$t0") s"
	fi
	DETECT_CACHE=$dir
	DETECT_WS=$(json_field "$(cat "$dir/ws.json")" id)
	DETECT_SK=$(json_field "$(cat "$dir/ws.json")" secret_key)
}

# detect_run LABEL BACKEND ARGS... : runs `dropfix detect --json ARGS` with the current
# DETECT_ENV, records its time; sets DETECT_OUT (the JSON) and DETECT_SECS.
detect_run() {
	local label=$1 backend=$2 t0 out
	shift 2
	t0=$(now_us)
	out=$(env "${DETECT_ENV[@]}" "$BENCH_BIN" detect --workspace "$DETECT_WS" --json "$@" 2>"$BENCH_TMP/detect-$label.err")
	local rc=$?
	DETECT_SECS=$(detect_seconds "$t0")
	DETECT_OUT=$out
	if [ $rc -ne 0 ]; then
		say "detect $label ($backend) failed ($rc):"
		cat "$BENCH_TMP/detect-$label.err" >&2
		return 1
	fi
	say "detect $label ($backend): $DETECT_SECS s: $(printf '%s' "$out" | head -c 300)"
}

# detect_stat NAME: a number from DETECT_OUT (top level or under "pass"/"stats").
detect_stat() {
	node -e '
		const o = JSON.parse(process.argv[1]); const k = process.argv[2];
		const v = o[k] ?? o.pass?.[k] ?? o.stats?.[k];
		process.stdout.write(v === undefined ? "nan" : String(v));' "$DETECT_OUT" "$1" 2>/dev/null || echo nan
}

# detect_measure BACKEND: full pass, 10k events through a server, incremental pass, on the
# installation in DETECT_ENV (DROPFIX_DATA_DIR, DROPFIX_DATABASE_URL…).
detect_measure() {
	local backend=$1 users
	users=$(detect_users)
	detect_run full "$backend" --full || return 1
	result detect "${backend}_full_pass" "$DETECT_SECS" s \
		"process wall time (pass alone $(detect_stat seconds) s); users evaluated $(detect_stat users), signals opened $(detect_stat opened); aim <= 30 s on SQLite"
	result detect "${backend}_full_users_per_s" "$(awk -v u="$(detect_stat users)" -v s="$DETECT_SECS" \
		'BEGIN { if (s > 0 && u + 0 > 0) printf "%.0f", u / s; else print "nan" }')" users/s ""
	# 10,000 new events through the real ingestion path
	local port log="$BENCH_TMP/detect-serve-$backend.log" post
	port=$(free_port) || return 1
	env "${DETECT_ENV[@]}" DROPFIX_LISTEN="127.0.0.1:$port" DROPFIX_LOG_LEVEL=warn DROPFIX_INGEST_RATE=10000000 \
		DROPFIX_INGEST_BURST=100000000 "$BENCH_BIN" serve --no-jobs >>"$log" 2>&1 &
	local pid=$!
	track "$pid"
	if ! wait_status "$port" /healthz 200 60 "$pid"; then
		say "detect: the server did not start:"
		tail -20 "$log" >&2
		stop_pid "$pid"
		return 1
	fi
	if ! post=$(node bench/detect_post.mjs "http://127.0.0.1:$port" "$DETECT_SK" 10000); then
		stop_pid "$pid"
		return 1
	fi
	stop_pid "$pid"
	say "detect: ingested $post"
	result detect "${backend}_ingest_10k_events" "$(echo "$post" | awk '{ print $6 }')" s \
		"POST /v1/batch, 50-event batches, 4 in flight (context)"
	detect_run incremental "$backend" || return 1
	result detect "${backend}_incremental_pass" "$DETECT_SECS" s \
		"process wall time (pass alone $(detect_stat seconds) s) after 10,000 new events for 2,000 users: users evaluated $(detect_stat users); aim <= 1 s"
	result detect "${backend}_dataset" "$users" users "$(cat "$DETECT_CACHE/gen.txt")"
}

bench_detect() {
	command -v node >/dev/null || { say "detect: needs Node.js"; return 1; }
	detect_sqlite_dataset || return 1
	DETECT_SQLITE_DIR="$BENCH_TMP/detect-sqlite"
	local t0
	t0=$(now_us)
	rm -rf "$DETECT_SQLITE_DIR"
	cp -r --reflink=auto "$DETECT_CACHE/data" "$DETECT_SQLITE_DIR" || return 1
	say "detect: copied the dataset in $(detect_seconds "$t0") s"
	DETECT_ENV=(DROPFIX_DATA_DIR="$DETECT_SQLITE_DIR" DROPFIX_LOG_LEVEL=warn)
	detect_measure sqlite || return 1
	if [ "${DROPFIX_BENCH_DETECT_PG:-1}" = 0 ]; then
		say "detect: PostgreSQL skipped (DROPFIX_BENCH_DETECT_PG=0)"
		return 0
	fi
	detect_pg
}

# PostgreSQL: a durable cluster holding the same dataset (the generator's rows loaded with
# COPY as the superuser, which bypasses row-level security; VACUUM ANALYZE; CHECKPOINT),
# cached like the SQLite one: build/bench-cache/detect-pg-<key>/ keeps the stopped
# cluster's directory, the master key and ws.json. Each run starts that cluster on a free
# port, copies the database inside it (CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY),
# measures on the copy as the app role, drops it and stops the cluster. In a subshell so the cluster's
# environment and its stop stay local; results go through the shared results file.
detect_pg() (
	# shellcheck source=/dev/null
	. tests/lib/pg.sh
	users=$(detect_users)
	now_ms=$(($(date +%s) * 1000))
	day=$((now_ms / 86400000))
	key=$(sha256sum <bench/detect_gen.c | cut -c1-12)
	cdir="build/bench-cache/detect-pg-v$DETECT_VERSION-$users-$day-$key"
	db=dfx_bench
	psql_q() { "$DROPFIX_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
	url() { echo "postgres://$1:$2@127.0.0.1:$DROPFIX_TEST_PG_PORT/$db"; }
	if [ ! -f "$cdir/ready" ]; then
		for old in build/bench-cache/detect-pg-v*-"$users"-*; do
			[ -d "$old" ] && [ "$old" != "$cdir" ] && rm -rf "$old"
		done
		rm -rf "$cdir"
		mkdir -p "$cdir/data" && chmod 755 "$cdir" && chmod 700 "$cdir/data"
		say "detect: generating the PostgreSQL dataset in $cdir"
		t0=$(now_us)
		# loading needs no durability (the cluster is stopped cleanly and synced before
		# use; every measured run starts it with fsync on): fsync off, and wal_level
		# minimal so COPY into a table truncated in the same transaction skips the WAL
		if ! DROPFIX_TEST_TMP="$PWD/$cdir" pg_start >"$cdir/pg-start.log" 2>&1 ||
			! runuser -u postgres -- "$DROPFIX_PG_BIN/pg_ctl" -D "$DROPFIX_TEST_PG_DIR/data" -w -t 60 restart -o \
				"-p $DROPFIX_TEST_PG_PORT -k $DROPFIX_TEST_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=minimal -c max_wal_senders=0" \
				>>"$cdir/pg-start.log" 2>&1; then
			say "detect: no PostgreSQL cluster ($(tail -1 "$cdir/pg-start.log")); SQLite only"
			result detect pg_full_pass nan s "PostgreSQL cluster did not start"
			exit 0
		fi
		trap 'pg_stop >/dev/null 2>&1' EXIT
		psql_q "$DROPFIX_TEST_PG_ADMIN_URL" -c "CREATE DATABASE $db OWNER $DROPFIX_TEST_PG_OWNER" || exit 1
		(umask 077 && printf '1 %s\n' "$(head -c 32 /dev/urandom | base64)" >"$cdir/data/master.key")
		app_url=$(url "$DROPFIX_TEST_PG_APP" "$DROPFIX_TEST_PG_APP_PASSWORD")
		DROPFIX_DATA_DIR="$cdir/data" DROPFIX_LOG_LEVEL=warn DROPFIX_DATABASE_URL="$app_url" \
			DROPFIX_DATABASE_OWNER_URL="$(url "$DROPFIX_TEST_PG_OWNER" "$DROPFIX_TEST_PG_OWNER_PASSWORD")" \
			"$BENCH_BIN" migrate >"$cdir/migrate.log" 2>&1 || { cat "$cdir/migrate.log" >&2; exit 1; }
		ws_json=$(detect_account_ws DROPFIX_DATA_DIR="$cdir/data" DROPFIX_LOG_LEVEL=error \
			DROPFIX_DATABASE_URL="$app_url") || exit 1
		printf '%s\n' "$ws_json" >"$cdir/ws.json"
		admin_db="postgres://postgres@127.0.0.1:$DROPFIX_TEST_PG_PORT/$db"
		for t in feature_keys tracked_users tracked_user_traits user_daily user_daily_features events; do
			build/bench/detect_gen --ws "$(json_field "$ws_json" id)" --users "$users" --days "$DETECT_DAYS" \
				--now-ms "$now_ms" --copy "$t" 2>"$cdir/gen.txt" |
				psql_q "$admin_db" -c "BEGIN" -c "TRUNCATE $t" \
					-c "COPY $t ($(build/bench/detect_gen --columns "$t")) FROM STDIN" -c "COMMIT" || exit 1
		done
		psql_q "$admin_db" -c "VACUUM ANALYZE" -c "CHECKPOINT" || exit 1
		runuser -u postgres -- "$DROPFIX_PG_BIN/pg_ctl" -D "$DROPFIX_TEST_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 ||
			pg_stop >/dev/null 2>&1
		sync
		trap - EXIT
		say "detect: PostgreSQL dataset ($(cat "$cdir/gen.txt")) loaded in $(detect_seconds "$t0") s"
		result detect pg_dataset_load "$(detect_seconds "$t0")" s "initdb + COPY of the generated rows (fsync off, WAL skipped) + VACUUM ANALYZE (once per cache key)"
		touch "$cdir/ready"
	else
		say "detect: cached PostgreSQL dataset $cdir"
	fi
	# this run's copy of the dataset: the cached cluster runs in place and the database
	# is copied inside it (CREATE DATABASE … TEMPLATE, file copy), dropped at the end
	port=$(_pg_free_port) || exit 1
	export DROPFIX_TEST_PG_DIR="$PWD/$cdir/pg" DROPFIX_TEST_PG_PORT="$port"
	pg_fast_stop() {
		runuser -u postgres -- "$DROPFIX_PG_BIN/pg_ctl" -D "$DROPFIX_TEST_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 ||
			pg_stop >/dev/null 2>&1
	}
	if ! runuser -u postgres -- "$DROPFIX_PG_BIN/pg_ctl" -D "$DROPFIX_TEST_PG_DIR/data" -l "$DROPFIX_TEST_PG_DIR/server.log" \
		-o "-p $port -k $DROPFIX_TEST_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=100" -w -t 120 start \
		>"$BENCH_TMP/pg_ctl.log" 2>&1; then
		say "detect: the cached PostgreSQL cluster did not start:"
		tail -20 "$DROPFIX_TEST_PG_DIR/server.log" >&2
		exit 1
	fi
	admin="postgres://postgres@127.0.0.1:$port/postgres"
	trap 'psql_q "$admin" -c "DROP DATABASE IF EXISTS dfx_run WITH (FORCE)" >/dev/null 2>&1; pg_fast_stop' EXIT
	# the cached database brought to this binary's schema (nothing to do when current)
	t0=$(now_us)
	DROPFIX_DATA_DIR="$cdir/data" DROPFIX_LOG_LEVEL=warn \
		DROPFIX_DATABASE_URL="postgres://dropfix_app:app-test-pw@127.0.0.1:$port/$db" \
		DROPFIX_DATABASE_OWNER_URL="postgres://dropfix_owner:owner-test-pw@127.0.0.1:$port/$db" \
		"$BENCH_BIN" migrate >"$BENCH_TMP/pg-migrate.log" 2>&1 || { cat "$BENCH_TMP/pg-migrate.log" >&2; exit 1; }
	say "detect: PostgreSQL schema current ($(tail -1 "$BENCH_TMP/pg-migrate.log" | head -c 200)) after $(detect_seconds "$t0") s"
	t0=$(now_us)
	psql_q "$admin" -c "CREATE DATABASE dfx_run TEMPLATE $db STRATEGY FILE_COPY" || exit 1
	say "detect: copied the PostgreSQL database in $(detect_seconds "$t0") s"
	DETECT_WS=$(json_field "$(cat "$cdir/ws.json")" id)
	DETECT_SK=$(json_field "$(cat "$cdir/ws.json")" secret_key)
	# the role passwords pg_start gave the cached cluster (tests/lib/pg.sh)
	DETECT_ENV=(DROPFIX_DATA_DIR="$cdir/data" DROPFIX_LOG_LEVEL=warn
		DROPFIX_DATABASE_URL="postgres://dropfix_app:app-test-pw@127.0.0.1:$port/dfx_run")
	detect_measure pg || exit 1
)

# ---- pages ----

bench_pages() {
	command -v node >/dev/null || { say "pages: needs Node.js"; return 1; }
	local dir=$DETECT_SQLITE_DIR
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		# not after `detect` in this run: a fresh copy and a full pass (untimed)
		detect_sqlite_dataset || return 1
		dir="$BENCH_TMP/pages-sqlite"
		rm -rf "$dir"
		cp -r --reflink=auto "$DETECT_CACHE/data" "$dir" || return 1
		DETECT_ENV=(DROPFIX_DATA_DIR="$dir" DROPFIX_LOG_LEVEL=warn)
		detect_run full sqlite --full || return 1
	fi
	local port log="$BENCH_TMP/pages-serve.log" pid out
	port=$(free_port) || return 1
	DROPFIX_DATA_DIR="$dir" DROPFIX_LISTEN="127.0.0.1:$port" DROPFIX_LOG_LEVEL=warn \
		"$BENCH_BIN" serve --no-jobs >>"$log" 2>&1 &
	pid=$!
	track "$pid"
	if ! wait_status "$port" /healthz 200 60 "$pid"; then
		say "pages: the server did not start:"
		tail -20 "$log" >&2
		return 1
	fi
	local w="/w/$DETECT_WS"
	if ! out=$(DROPFIX_BENCH_PASSWORD="$DETECT_PASSWORD" node bench/pages.mjs "http://127.0.0.1:$port" "$DETECT_EMAIL" - \
		"overview=$w" "users=$w/users" "users_at_risk_by_worth=$w/users?band=at_risk&sort=worth" \
		"users_pro_by_mrr_p3=$w/users?plan=pro&sort=mrr&page=3" "user_detail=$w/users/bench-dropping-000002" \
		"signals=$w/signals"); then
		stop_pid "$pid"
		return 1
	fi
	stop_pid "$pid"
	local users
	users=$(detect_users)
	while read -r name p50 p95 max bytes; do
		result pages "${name}_p50" "$p50" ms "$users users; ${DROPFIX_BENCH_PAGE_REQUESTS:-200} sequential requests after 20 warm-up; $bytes bytes"
		result pages "${name}_p95" "$p95" ms "aim <= 100 ms; max $max ms"
	done <<<"$out"
}
