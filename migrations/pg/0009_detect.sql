-- DropFix schema 0009 (PostgreSQL): churn detection and the app model (src/detect/,
-- src/appmodel/; PRODUCT §5–7, §12). Every table here is a tenant table.

-- Set by the ingest writer to the received time (ms) whenever a user's profile or
-- aggregates change; the incremental detector pass evaluates users past its watermark.
ALTER TABLE tracked_users ADD COLUMN changed_ms bigint NOT NULL DEFAULT 0;

-- Per-workspace detection settings: a JSON object of thresholds, weights and cancel
-- patterns; missing keys mean the defaults (docs/signals.md).
CREATE TABLE detect_settings (
	workspace_id bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
	settings text NOT NULL DEFAULT '{}',
	updated_at bigint NOT NULL
);

-- Per-workspace detector state. started_ms: earliest event time seen (the learning
-- window runs on event time); watermark_ms: tracked_users.changed_ms already evaluated.
CREATE TABLE detect_state (
	workspace_id bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
	started_ms bigint NOT NULL DEFAULT 0,
	watermark_ms bigint NOT NULL DEFAULT 0,
	last_full_ms bigint NOT NULL DEFAULT 0,
	last_incremental_ms bigint NOT NULL DEFAULT 0
);

-- The founder's edits of the app model; a feature without a row uses automatic choices.
-- name: founder's name (NULL = automatic); provider_name: a naming provider's suggestion;
-- merged_into: the feature_keys.id this one counts as (NULL = itself); core: 1/0 chosen
-- by the founder, NULL = automatic.
CREATE TABLE app_features (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	feature_id bigint NOT NULL,
	name text,
	provider_name text,
	merged_into bigint,
	hidden bigint NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
	core bigint CHECK (core IN (0, 1)),
	updated_at bigint NOT NULL,
	PRIMARY KEY (workspace_id, feature_id)
);

-- One row per signal episode. At most one episode per (user, kind) is live: open, or
-- dismissed while its condition still holds (cleared_ms NULL). evidence: JSON object
-- {"text": "<the sentence the UI shows>", <the numbers by name>}.
CREATE TABLE signals (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	id bigint NOT NULL,
	user_id text NOT NULL,
	kind text NOT NULL,
	state text NOT NULL CHECK (state IN ('open', 'resolved', 'dismissed')),
	severity bigint NOT NULL CHECK (severity BETWEEN 1 AND 3),
	evidence text NOT NULL DEFAULT '{}',
	detected_ms bigint NOT NULL,
	updated_ms bigint NOT NULL,
	resolved_ms bigint,
	dismissed_ms bigint,
	dismissed_by bigint,
	dismiss_reason text,
	cleared_ms bigint,
	PRIMARY KEY (workspace_id, id)
);
CREATE INDEX signals_user ON signals (workspace_id, user_id, kind);
CREATE INDEX signals_state ON signals (workspace_id, state, detected_ms);

-- What happened to a signal: opened, updated, resolved, dismissed, cleared.
CREATE TABLE signal_history (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	signal_id bigint NOT NULL,
	seq bigint NOT NULL,
	at_ms bigint NOT NULL,
	change text NOT NULL,
	account_id bigint,
	detail text NOT NULL DEFAULT '',
	PRIMARY KEY (workspace_id, signal_id, seq)
);

-- Health per tracked user, refreshed by every pass that evaluates the user.
-- parts: JSON {"base":100,"signals":[{"kind":k,"weight":w,"counted":0|1}],
-- "engagement":e,"health":h}; open_kinds: ",kind,kind," for filtering; mrr: whole
-- currency units per month (traits now, Stripe later); worth: (100 - health) * mrr when
-- the user has an open signal, else 0; first_open_ms: detected time of the oldest open
-- signal (ranking ties).
CREATE TABLE user_health (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id text NOT NULL,
	health bigint NOT NULL,
	band text NOT NULL CHECK (band IN ('healthy', 'watch', 'at_risk')),
	parts text NOT NULL DEFAULT '{}',
	open_kinds text NOT NULL DEFAULT '',
	open_count bigint NOT NULL DEFAULT 0,
	plan text NOT NULL DEFAULT '',
	mrr bigint NOT NULL DEFAULT 0,
	worth bigint NOT NULL DEFAULT 0,
	first_open_ms bigint,
	events_7d bigint NOT NULL DEFAULT 0,
	baseline_weekly bigint NOT NULL DEFAULT 0,
	evaluated_ms bigint NOT NULL,
	PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX user_health_worth ON user_health (workspace_id, worth DESC, first_open_ms);
CREATE INDEX user_health_band ON user_health (workspace_id, band, health);

-- One trend point per workspace per day, written by the full pass (the daily sweep).
CREATE TABLE workspace_daily (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	day bigint NOT NULL,
	users bigint NOT NULL DEFAULT 0,
	active_users bigint NOT NULL DEFAULT 0,
	healthy bigint NOT NULL DEFAULT 0,
	watch bigint NOT NULL DEFAULT 0,
	at_risk bigint NOT NULL DEFAULT 0,
	open_signals bigint NOT NULL DEFAULT 0,
	mrr_total bigint NOT NULL DEFAULT 0,
	mrr_at_risk bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace_id, day)
);

-- Founder notes on a tracked user, sealed (AD v1|workspace|<ws>|user_notes|body|<id>).
CREATE TABLE user_notes (
	workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	id bigint NOT NULL,
	user_id text NOT NULL,
	account_id bigint,
	body_sealed text NOT NULL,
	created_at bigint NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE INDEX user_notes_user ON user_notes (workspace_id, user_id);

-- API tokens (global table from 0001): what the settings page shows, and the role a
-- token acts with ('viewer', 'member' or 'admin'; never more than its creator's).
ALTER TABLE api_tokens ADD COLUMN display_prefix text NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN role text NOT NULL DEFAULT 'viewer'
	CHECK (role IN ('viewer', 'member', 'admin'));

ALTER TABLE detect_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE detect_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON detect_settings
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE detect_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE detect_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON detect_state
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE app_features ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_features FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON app_features
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE signals ENABLE ROW LEVEL SECURITY;
ALTER TABLE signals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON signals
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE signal_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE signal_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON signal_history
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE user_health ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_health FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_health
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE workspace_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workspace_daily
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
ALTER TABLE user_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_notes
	USING (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint)
	WITH CHECK (workspace_id = nullif(current_setting('app.workspace_id', true), '')::bigint);
