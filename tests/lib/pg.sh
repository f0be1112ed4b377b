# PostgreSQL test cluster for `make test` (sourced by scripts/test.sh; also usable by
# hand: `DROPFIX_TEST_TMP=$(mktemp -d) && . tests/lib/pg.sh && pg_start`).
#
# pg_start: initdb in $DROPFIX_TEST_TMP/pg as the `postgres` user (initdb refuses root),
# start on a free loopback port (never 5432's default cluster), create the three
# dropfix roles, and export for the tests:
#   DROPFIX_TEST_PG_PORT, DROPFIX_TEST_PG_HOST (127.0.0.1), DROPFIX_TEST_PG_BIN,
#   DROPFIX_TEST_PG_ADMIN_URL   superuser; only for CREATE/DROP DATABASE per test
#   DROPFIX_TEST_PG_OWNER / _OWNER_PASSWORD   migrations (NOSUPERUSER NOBYPASSRLS)
#   DROPFIX_TEST_PG_APP / _APP_PASSWORD       what serve connects as (NOBYPASSRLS)
#   DROPFIX_TEST_PG_MAINT / _MAINT_PASSWORD   CLI/worker maintenance (BYPASSRLS)
# A test builds postgres://ROLE:PASSWORD@127.0.0.1:PORT/DB URLs from these, creates
# its own database (CREATE DATABASE … OWNER dropfix_owner), migrates it as the owner
# and runs as the app role.
# DROPFIX_TEST_PG_DURABLE=1 keeps fsync on (benchmarks); tests default to fsync=off.
# pg_stop: stops the cluster (the directory goes with $DROPFIX_TEST_TMP).

DROPFIX_PG_BIN=${DROPFIX_PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		[ "$port" = 5432 ] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

pg_start() {
	if [ -z "${DROPFIX_TEST_TMP:-}" ] || [ ! -d "$DROPFIX_TEST_TMP" ]; then
		echo "pg_start: DROPFIX_TEST_TMP is not a directory" >&2
		return 1
	fi
	if [ ! -x "$DROPFIX_PG_BIN/initdb" ] || ! id postgres >/dev/null 2>&1; then
		echo "pg_start: needs Debian's postgresql-15 package (initdb in $DROPFIX_PG_BIN, user postgres)" >&2
		return 1
	fi
	local dir="$DROPFIX_TEST_TMP/pg"
	mkdir -p "$dir" || return 1
	chown postgres:postgres "$dir" && chmod 700 "$dir" || return 1
	if ! runuser -u postgres -- "$DROPFIX_PG_BIN/initdb" -D "$dir/data" --auth=trust -U postgres -E UTF8 \
		--no-instructions >"$dir/initdb.log" 2>&1; then
		echo "pg_start: initdb failed:" >&2
		tail -20 "$dir/initdb.log" >&2
		return 1
	fi
	local port opts
	port=$(_pg_free_port) || {
		echo "pg_start: no free loopback port" >&2
		return 1
	}
	opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=100"
	if [ "${DROPFIX_TEST_PG_DURABLE:-0}" != 1 ]; then
		opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	fi
	if ! runuser -u postgres -- "$DROPFIX_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w \
		-t 60 start >"$dir/pg_ctl.log" 2>&1; then
		echo "pg_start: pg_ctl start failed:" >&2
		tail -20 "$dir/server.log" >&2
		return 1
	fi
	export DROPFIX_TEST_PG_DIR="$dir"
	export DROPFIX_TEST_PG_PORT="$port"
	export DROPFIX_TEST_PG_HOST=127.0.0.1
	export DROPFIX_TEST_PG_BIN="$DROPFIX_PG_BIN"
	export DROPFIX_TEST_PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
	export DROPFIX_TEST_PG_OWNER=dropfix_owner DROPFIX_TEST_PG_OWNER_PASSWORD=owner-test-pw
	export DROPFIX_TEST_PG_APP=dropfix_app DROPFIX_TEST_PG_APP_PASSWORD=app-test-pw
	export DROPFIX_TEST_PG_MAINT=dropfix_maint DROPFIX_TEST_PG_MAINT_PASSWORD=maint-test-pw
	# The same statements docs/postgres.md asks an operator to run once.
	if ! "$DROPFIX_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$DROPFIX_TEST_PG_ADMIN_URL" >"$dir/roles.log" 2>&1 <<SQL; then
CREATE ROLE dropfix_owner LOGIN PASSWORD '$DROPFIX_TEST_PG_OWNER_PASSWORD' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE dropfix_app LOGIN PASSWORD '$DROPFIX_TEST_PG_APP_PASSWORD' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE dropfix_maint LOGIN PASSWORD '$DROPFIX_TEST_PG_MAINT_PASSWORD' NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS;
SQL
		echo "pg_start: creating roles failed:" >&2
		cat "$dir/roles.log" >&2
		pg_stop
		return 1
	fi
	return 0
}

pg_stop() {
	if [ -n "${DROPFIX_TEST_PG_DIR:-}" ] && [ -d "$DROPFIX_TEST_PG_DIR/data" ]; then
		runuser -u postgres -- "$DROPFIX_PG_BIN/pg_ctl" -D "$DROPFIX_TEST_PG_DIR/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	unset DROPFIX_TEST_PG_PORT DROPFIX_TEST_PG_ADMIN_URL DROPFIX_TEST_PG_DIR
}
