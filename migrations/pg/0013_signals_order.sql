-- DropFix schema 0013 (PostgreSQL): signals in the dashboard's order (src/web/signals_page.c,
-- overview_page.c; issue 6): a state's signals newest first (ties by id) for the signals
-- page, and by kind within a state for its kind filter and the overview's open-signal
-- counts (read from the index alone).
CREATE INDEX signals_state_order ON signals (workspace_id, state, detected_ms, id);
CREATE INDEX signals_state_kind ON signals (workspace_id, state, kind, detected_ms, id);
