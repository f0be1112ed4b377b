#!/usr/bin/env bash
# Store insert rates vs raw sqlite3 / libpq, same run (bench/store_bench.c).
# Usage: bench/store_bench.sh [--seconds S]   (root; starts a durable PostgreSQL cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/gen/migrations_data.c
mkdir -p build/bench
# Built from the store's own sources (not the whole library), optimised like a release.
# shellcheck disable=SC2046
cc -std=c17 -Wall -Wextra -O2 -g -D_GNU_SOURCE -Isrc $(pkg-config --cflags libpq sqlite3 jansson) \
	-o build/bench/store_bench bench/store_bench.c src/store/*.c src/core/clock.c src/core/str.c \
	src/core/parse.c src/core/log.c build/gen/migrations_data.c \
	$(pkg-config --libs sqlite3 libpq libsodium jansson) -lpthread -lm
export DROPFIX_TEST_TMP
DROPFIX_TEST_TMP=$(mktemp -d /tmp/dropfix-bench.XXXXXX)
chmod 755 "$DROPFIX_TEST_TMP"
export DROPFIX_BENCH_DIR="$DROPFIX_TEST_TMP"
# shellcheck source=/dev/null
. tests/lib/pg.sh
trap 'pg_stop; rm -rf "$DROPFIX_TEST_TMP"' EXIT
if ! DROPFIX_TEST_PG_DURABLE=1 pg_start; then
	echo "store_bench: no PostgreSQL cluster; measuring SQLite only" >&2
fi
build/bench/store_bench "$@"
