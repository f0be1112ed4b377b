-- DropFix schema 0014 (PostgreSQL): the detector's copy of the app model's core set
-- (src/detect/detect_load.c; issue 6). core: JSON {"day":D,"at":ms,"core":[[id,"name"],…],
-- "map":[[raw id, core id],…]} written by a pass that loaded the app model; an incremental
-- pass on the same day reuses it unless the founder edited the app model since
-- (app_features.updated_at >= at), which spares it the model's 30-day usage scan. '' = none.
ALTER TABLE detect_state ADD COLUMN core TEXT NOT NULL DEFAULT '';
