# Benchmark: the ingestion writer alone (bench/ingest_writer_bench.c): CPU and wall time
# per event of one group commit of G single-event requests plus its share of the
# aggregation pass (run every 40 ms as under load), for G = 1, 16, 64 and 512, on
# a fresh SQLite database (synchronous from DROPFIX_BENCH_SYNC, default FULL). Thread CPU
# time barely moves with other load on the machine, unlike req/s, so compare this number
# when changing the writer or the tables and indexes it writes. Sourced by bench/run.sh;
# `bench/run.sh writer` runs it.
#   DROPFIX_BENCH_WRITER_EVENTS  events per group size (default 20000)

bench_register writer "ingest writer alone: CPU us per event per group commit of 1/16/64/512 requests (SQLite)"

bench_writer() {
	local events=${DROPFIX_BENCH_WRITER_EVENTS:-20000} sync=${DROPFIX_BENCH_SYNC:-FULL}
	case $events in '' | *[!0-9]* | 0) say "writer: DROPFIX_BENCH_WRITER_EVENTS must be a positive integer"; return 1 ;; esac
	case $sync in FULL | NORMAL) ;; *) say "writer: DROPFIX_BENCH_SYNC must be FULL or NORMAL"; return 1 ;; esac
	make -s build/release/libdropfix.a || return 1
	mkdir -p build/bench
	# the release library and the Makefile's own flags (mk/*.mk add packages)
	local flags
	# shellcheck disable=SC2016 # make, not the shell, expands these
	flags=$(printf 'bench-print-flags:\n\t@echo $(CPPFLAGS)\n\t@echo $(LIBS)\n' |
		make -s --no-print-directory -f Makefile -f - bench-print-flags) || return 1
	# shellcheck disable=SC2046,SC2086
	cc -std=c17 -Wall -Wextra -O2 -g $(printf '%s\n' "$flags" | sed -n 1p) \
		-o build/bench/ingest_writer_bench bench/ingest_writer_bench.c build/release/libdropfix.a \
		$(printf '%s\n' "$flags" | sed -n 2p) || return 1
	local data="$BENCH_TMP/writer-data" log="$BENCH_TMP/writer.log" ws id
	mkdir -p "$data"
	DROPFIX_DATA_DIR=$data DROPFIX_LOG_LEVEL=warn "$BENCH_BIN" account create --email bench@example.test \
		--name bench <<<'a long enough password' >/dev/null 2>>"$log" || { say "writer: account create failed"; return 1; }
	ws=$(DROPFIX_DATA_DIR=$data DROPFIX_LOG_LEVEL=warn "$BENCH_BIN" workspace create --owner bench@example.test \
		--name Bench 2>>"$log") || { say "writer: workspace create failed"; return 1; }
	id=$(printf '%s' "$ws" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	[ -n "$id" ] || { say "writer: no workspace id in $ws"; return 1; }
	local out="$BENCH_TMP/writer.txt"
	build/bench/ingest_writer_bench "$data/dropfix.db" "$id" "$sync" "$events" 1 16 64 512 | tee "$out" >&2 || return 1
	local g cpu wall
	while read -r g _ cpu wall; do
		case $g in '' | *[!0-9]*) continue ;; esac
		result writer "cpu_us_per_event_group$g" "$cpu" us "synchronous=$sync; one group commit of $g single-event requests"
		result writer "wall_us_per_event_group$g" "$wall" us "synchronous=$sync"
	done <"$out"
}
