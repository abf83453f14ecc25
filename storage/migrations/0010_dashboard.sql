-- The web dashboard (issue 13): one-time sign-in links, sessions, and who did what there.
-- Links and sessions are stored as SHA-256 hashes only, so a copy of the database (a backup,
-- an export) signs nobody in.
CREATE TABLE dashboard_links (
    token_hash  TEXT PRIMARY KEY,
    admin_id    INTEGER NOT NULL,             -- the admin's Telegram id
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT                          -- set once: a link signs in one browser
) WITHOUT ROWID;

CREATE TABLE dashboard_sessions (
    id_hash     TEXT PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    csrf_token  TEXT NOT NULL,                -- every form of the session posts it back
    via         TEXT NOT NULL CHECK (via IN ('link', 'webapp')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT                          -- «Выйти», or the admin was removed
) WITHOUT ROWID;

-- Every action taken on the dashboard, with who took it.
CREATE TABLE dashboard_actions (
    id          INTEGER PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    action      TEXT NOT NULL,                -- signed_in, signed_out, replied, resolved, ...
    detail      TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX dashboard_actions_at ON dashboard_actions(at);

-- Replies an admin wrote to a customer about a negative review (sent through the outbox,
-- kind 'alert_reply', ref_id = this row).
CREATE TABLE alert_replies (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id),
    admin_id    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX alert_replies_alert ON alert_replies(alert_id, id);
