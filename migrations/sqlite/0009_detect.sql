-- DropFix schema 0009 (SQLite): churn detection and the app model (src/detect/,
-- src/appmodel/; PRODUCT §5–7, §12). Every table here is a tenant table.

-- Set by the ingest writer to the received time (ms) whenever a user's profile or
-- aggregates change; the incremental detector pass evaluates users past its watermark.
ALTER TABLE tracked_users ADD COLUMN changed_ms INTEGER NOT NULL DEFAULT 0;

-- Per-workspace detection settings: a JSON object of thresholds, weights and cancel
-- patterns; missing keys mean the defaults (docs/signals.md).
CREATE TABLE detect_settings (
	workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
	settings TEXT NOT NULL DEFAULT '{}',
	updated_at INTEGER NOT NULL
) STRICT;

-- Per-workspace detector state. started_ms: earliest event time seen (the learning
-- window runs on event time); watermark_ms: tracked_users.changed_ms already evaluated.
CREATE TABLE detect_state (
	workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
	started_ms INTEGER NOT NULL DEFAULT 0,
	watermark_ms INTEGER NOT NULL DEFAULT 0,
	last_full_ms INTEGER NOT NULL DEFAULT 0,
	last_incremental_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The founder's edits of the app model; a feature without a row uses automatic choices.
-- name: founder's name (NULL = automatic); provider_name: a naming provider's suggestion;
-- merged_into: the feature_keys.id this one counts as (NULL = itself); core: 1/0 chosen
-- by the founder, NULL = automatic.
CREATE TABLE app_features (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	feature_id INTEGER NOT NULL,
	name TEXT,
	provider_name TEXT,
	merged_into INTEGER,
	hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
	core INTEGER CHECK (core IN (0, 1)),
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, feature_id)
) STRICT;

-- One row per signal episode. At most one episode per (user, kind) is live: open, or
-- dismissed while its condition still holds (cleared_ms NULL). evidence: JSON object
-- {"text": "<the sentence the UI shows>", <the numbers by name>}.
CREATE TABLE signals (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	id INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'dismissed')),
	severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 3),
	evidence TEXT NOT NULL DEFAULT '{}',
	detected_ms INTEGER NOT NULL,
	updated_ms INTEGER NOT NULL,
	resolved_ms INTEGER,
	dismissed_ms INTEGER,
	dismissed_by INTEGER,
	dismiss_reason TEXT,
	cleared_ms INTEGER,
	PRIMARY KEY (workspace_id, id)
) STRICT;
CREATE INDEX signals_user ON signals (workspace_id, user_id, kind);
CREATE INDEX signals_state ON signals (workspace_id, state, detected_ms);

-- What happened to a signal: opened, updated, resolved, dismissed, cleared.
CREATE TABLE signal_history (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	signal_id INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	at_ms INTEGER NOT NULL,
	change TEXT NOT NULL,
	account_id INTEGER,
	detail TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (workspace_id, signal_id, seq)
) STRICT;

-- Health per tracked user, refreshed by every pass that evaluates the user.
-- parts: JSON {"base":100,"signals":[{"kind":k,"weight":w,"counted":0|1}],
-- "engagement":e,"health":h}; open_kinds: ",kind,kind," for filtering; mrr: whole
-- currency units per month (traits now, Stripe later); worth: (100 - health) * mrr when
-- the user has an open signal, else 0; first_open_ms: detected time of the oldest open
-- signal (ranking ties).
CREATE TABLE user_health (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	health INTEGER NOT NULL,
	band TEXT NOT NULL CHECK (band IN ('healthy', 'watch', 'at_risk')),
	parts TEXT NOT NULL DEFAULT '{}',
	open_kinds TEXT NOT NULL DEFAULT '',
	open_count INTEGER NOT NULL DEFAULT 0,
	plan TEXT NOT NULL DEFAULT '',
	mrr INTEGER NOT NULL DEFAULT 0,
	worth INTEGER NOT NULL DEFAULT 0,
	first_open_ms INTEGER,
	events_7d INTEGER NOT NULL DEFAULT 0,
	baseline_weekly INTEGER NOT NULL DEFAULT 0,
	evaluated_ms INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, user_id)
) STRICT;
CREATE INDEX user_health_worth ON user_health (workspace_id, worth DESC, first_open_ms);
CREATE INDEX user_health_band ON user_health (workspace_id, band, health);

-- One trend point per workspace per day, written by the full pass (the daily sweep).
CREATE TABLE workspace_daily (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	day INTEGER NOT NULL,
	users INTEGER NOT NULL DEFAULT 0,
	active_users INTEGER NOT NULL DEFAULT 0,
	healthy INTEGER NOT NULL DEFAULT 0,
	watch INTEGER NOT NULL DEFAULT 0,
	at_risk INTEGER NOT NULL DEFAULT 0,
	open_signals INTEGER NOT NULL DEFAULT 0,
	mrr_total INTEGER NOT NULL DEFAULT 0,
	mrr_at_risk INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, day)
) STRICT;

-- Founder notes on a tracked user, sealed (AD v1|workspace|<ws>|user_notes|body|<id>).
CREATE TABLE user_notes (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	id INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	account_id INTEGER,
	body_sealed TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, id)
) STRICT;
CREATE INDEX user_notes_user ON user_notes (workspace_id, user_id);

-- API tokens (global table from 0001): what the settings page shows, and the role a
-- token acts with ('viewer', 'member' or 'admin'; never more than its creator's).
ALTER TABLE api_tokens ADD COLUMN display_prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer'
	CHECK (role IN ('viewer', 'member', 'admin'));
