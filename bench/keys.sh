# Benchmark: `dropfix keys rotate` over N sealed values (default 100,000 workspace secrets,
# plus N/10+1 capped at 1,000 TOTP seeds and as many signing keys), on SQLite and on a
# throw-away PostgreSQL cluster (fsync on). Sourced by bench/run.sh.
#
# Seeding uses the test build's hidden `keys --test-seed N` (DROPFIX_BENCH_SEED_BIN,
# default build/test/dropfix, built when missing); the rotation itself is timed with the
# binary under test ($BENCH_BIN).
#   DROPFIX_BENCH_KEYS_N    workspace secrets to seed (default 100000)
#   DROPFIX_BENCH_KEYS_PG   0 skips the PostgreSQL run (default 1 when postgresql-15 is installed)

bench_register keys "keys rotate: re-seal ${DROPFIX_BENCH_KEYS_N:-100000} sealed values (SQLite, PostgreSQL)"

# keys_rotate_run LABEL ENV...: seeds, rotates, verifies; records the numbers.
keys_rotate_run() {
	local label=$1 n=$2 log="$BENCH_TMP/keys-$1.log" t0 t1 secs total
	shift 2
	if ! env "$@" "$KEYS_SEED_BIN" keys --test-seed "$n" >>"$log" 2>&1; then
		say "keys: seeding $label failed:"
		tail -5 "$log" >&2
		return 1
	fi
	t0=$(now_us)
	if ! env "$@" "$BENCH_BIN" keys rotate >>"$log" 2>&1; then
		say "keys: rotate on $label failed:"
		tail -5 "$log" >&2
		return 1
	fi
	t1=$(now_us)
	if ! env "$@" "$BENCH_BIN" keys verify >>"$log" 2>&1; then
		say "keys: verify after rotate on $label failed:"
		tail -5 "$log" >&2
		return 1
	fi
	total=$(sed -n 's/.*checked \([0-9]*\) sealed values in.*/\1/p' "$log" | tail -1)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
	say "keys: $label: re-sealed ${total:-?} values in ${secs} s"
	result keys "${label}_rotate_s" "$secs" s "${total:-?} values, batches of 500, whole command"
	result keys "${label}_values_per_s" "$(awk -v n="${total:-0}" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "nan" }')" "1/s"
}

bench_keys() {
	local n=${DROPFIX_BENCH_KEYS_N:-100000} dir
	case $n in '' | *[!0-9]* | 0) say "keys: DROPFIX_BENCH_KEYS_N must be a positive integer"; return 1 ;; esac
	KEYS_SEED_BIN=${DROPFIX_BENCH_SEED_BIN:-build/test/dropfix}
	if [ ! -x "$KEYS_SEED_BIN" ] && ! make -s build/test/dropfix >"$BENCH_TMP/keys-make.log" 2>&1; then
		say "keys: cannot build the test binary for seeding:"
		tail -20 "$BENCH_TMP/keys-make.log" >&2
		return 1
	fi

	# SQLite (the embedded default; synchronous=FULL).
	dir="$BENCH_TMP/keys-sqlite"
	mkdir -p "$dir"
	(umask 077 && printf '1 %s\n' "$(openssl rand -base64 32)" >"$dir/master.key")
	DROPFIX_DATA_DIR=$dir "$BENCH_BIN" migrate >"$BENCH_TMP/keys-sqlite.log" 2>&1 || {
		say "keys: migrate failed"
		return 1
	}
	keys_rotate_run sqlite "$n" DROPFIX_DATA_DIR="$dir" || return 1

	# PostgreSQL: a temporary cluster with fsync on (tests/lib/pg.sh).
	if [ "${DROPFIX_BENCH_KEYS_PG:-1}" = 0 ] || [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
		say "keys: PostgreSQL run skipped"
		return 0
	fi
	local rc=0 db=dfx_bench_keys
	(
		export DROPFIX_TEST_TMP="$BENCH_TMP" DROPFIX_TEST_PG_DURABLE=1
		chmod 755 "$BENCH_TMP"
		# shellcheck source=tests/lib/pg.sh
		. tests/lib/pg.sh
		pg_start || exit 1
		trap pg_stop EXIT
		"$DROPFIX_TEST_PG_BIN/psql" -X -q "$DROPFIX_TEST_PG_ADMIN_URL" -c "CREATE DATABASE $db OWNER dropfix_owner" ||
			exit 1
		local base="127.0.0.1:$DROPFIX_TEST_PG_PORT/$db" pgdir="$BENCH_TMP/keys-pg"
		mkdir -p "$pgdir"
		(umask 077 && printf '1 %s\n' "$(openssl rand -base64 32)" >"$pgdir/master.key")
		local envs=(DROPFIX_DATA_DIR="$pgdir"
			DROPFIX_DATABASE_URL="postgres://dropfix_app:$DROPFIX_TEST_PG_APP_PASSWORD@$base"
			DROPFIX_DATABASE_OWNER_URL="postgres://dropfix_owner:$DROPFIX_TEST_PG_OWNER_PASSWORD@$base"
			DROPFIX_DATABASE_MAINT_URL="postgres://dropfix_maint:$DROPFIX_TEST_PG_MAINT_PASSWORD@$base")
		env "${envs[@]}" "$BENCH_BIN" migrate >"$BENCH_TMP/keys-pg.log" 2>&1 || exit 1
		keys_rotate_run pg "$n" "${envs[@]}"
	) || rc=1
	[ $rc = 0 ] || say "keys: PostgreSQL run failed (see above)"
	return $rc
}
