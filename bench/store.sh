# Benchmark: single-row and 100-row-transaction insert rates through the store, as ratios
# to raw sqlite3 and raw libpq measured in the same run (bench/store_bench.c, which
# prints its own table). Starts a throw-away durable PostgreSQL cluster (root); without
# one it measures SQLite only. Sourced by bench/run.sh; `bench/run.sh store` runs it.
#   DROPFIX_BENCH_STORE_SECONDS  seconds per case (default: the program's own)

bench_register store "store insert rates vs raw SQLite / raw PostgreSQL (1 row and 100 rows per transaction)"

bench_store() {
	make -s build/gen/migrations_data.c || return 1
	mkdir -p build/bench
	# Built from the store's own sources (not the whole library), optimised like a release.
	# shellcheck disable=SC2046
	cc -std=c17 -Wall -Wextra -O2 -g -D_GNU_SOURCE -Isrc $(pkg-config --cflags libpq sqlite3 jansson) \
		-o build/bench/store_bench bench/store_bench.c src/store/*.c src/core/clock.c src/core/str.c \
		src/core/parse.c src/core/log.c build/gen/migrations_data.c \
		$(pkg-config --libs sqlite3 libpq libsodium jansson) -lpthread -lm || return 1
	# A subshell keeps the cluster's environment and cleanup away from run.sh's own.
	(
		export DROPFIX_TEST_TMP
		DROPFIX_TEST_TMP=$(mktemp -d "$BENCH_TMP/store.XXXXXX")
		chmod 755 "$BENCH_TMP" "$DROPFIX_TEST_TMP" # the postgres user must reach the cluster dir
		export DROPFIX_BENCH_DIR="$DROPFIX_TEST_TMP"
		# shellcheck source=/dev/null
		. tests/lib/pg.sh
		if ! DROPFIX_TEST_PG_DURABLE=1 pg_start >"$DROPFIX_TEST_TMP/pg-start.log" 2>&1; then
			say "store: no PostgreSQL cluster ($(tail -1 "$DROPFIX_TEST_TMP/pg-start.log")); measuring SQLite only"
		fi
		args=()
		[ -n "${DROPFIX_BENCH_STORE_SECONDS:-}" ] && args=(--seconds "$DROPFIX_BENCH_STORE_SECONDS")
		build/bench/store_bench "${args[@]}"
		rc=$?
		pg_stop >/dev/null 2>&1
		exit $rc
	)
}
