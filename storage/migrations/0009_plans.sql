-- From a score to a change (issue 12): action plans and their check-ins, department targets,
-- the anonymous survey comment, the monthly voice of the customer with employees' suggestions,
-- and the internal service pulse. Timestamps are UTC text (to_db) unless named *_day.

-- ---------------------------------------------------------------- action plans
CREATE TABLE initiatives (
    id              INTEGER PRIMARY KEY,
    question        INTEGER NOT NULL CHECK (question BETWEEN 1 AND 6),
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- The owner as Telegram knows them: picked with KeyboardButtonRequestUsers (anyone the
    -- admin can reach) or from the employee list (then owner_employee_id is set too).
    owner_chat_id   INTEGER,
    owner_name      TEXT,
    owner_employee_id INTEGER REFERENCES employees(id),
    due_day         TEXT,                       -- local date YYYY-MM-DD; NULL with due_next_wave
    due_next_wave   INTEGER NOT NULL DEFAULT 0 CHECK (due_next_wave IN (0, 1)),
    status          TEXT NOT NULL DEFAULT 'planned'
                    CHECK (status IN ('planned', 'in_progress', 'done', 'stuck', 'dropped')),
    base_wave_id    INTEGER REFERENCES waves(id),  -- the latest wave when it was planned
    source          TEXT NOT NULL DEFAULT 'admin'
                    CHECK (source IN ('admin', 'comment', 'suggestion')),
    source_id       INTEGER,                    -- survey_comments.id or voc_suggestions.id
    created_by      INTEGER NOT NULL,           -- admin's Telegram id
    created_at      TEXT NOT NULL,
    status_at       TEXT NOT NULL,              -- the last status change
    done_at         TEXT,
    owner_unreachable_at TEXT,                  -- the owner blocked the bot (a 403)
    owner_left_at   TEXT,                       -- the owner left (/leave): their id is gone
    owner_gone_told_at TEXT                     -- the admins were asked for a new owner
);
CREATE INDEX initiatives_question ON initiatives(question, status);
CREATE INDEX initiatives_owner ON initiatives(owner_chat_id);

-- Every status change (and every check-in note), with who and when.
CREATE TABLE initiative_events (
    id             INTEGER PRIMARY KEY,
    initiative_id  INTEGER NOT NULL REFERENCES initiatives(id),
    status         TEXT NOT NULL,
    previous       TEXT,                        -- NULL for the creation
    note           TEXT,
    by_chat_id     INTEGER NOT NULL,
    by_name        TEXT,
    at             TEXT NOT NULL
);
CREATE INDEX initiative_events_initiative ON initiative_events(initiative_id, at);

-- An admin's /plan conversation, one per admin; a restart resumes it.
CREATE TABLE plan_drafts (
    admin_id        INTEGER PRIMARY KEY,
    step            TEXT NOT NULL CHECK (step IN ('question', 'title', 'owner', 'due')),
    question        INTEGER CHECK (question BETWEEN 1 AND 6),
    title           TEXT,
    owner_chat_id   INTEGER,
    owner_name      TEXT,
    owner_employee_id INTEGER REFERENCES employees(id),
    source          TEXT NOT NULL DEFAULT 'admin',
    source_id       INTEGER,
    started_at      TEXT NOT NULL
);

-- A person's free text the bot waits for (a check-in note, a survey comment, a suggestion):
-- one per chat, so the next plain message goes where it belongs. Deleted when used.
CREATE TABLE pending_inputs (
    chat_id     INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('checkin_note', 'survey_comment', 'suggestion')),
    ref_id      INTEGER NOT NULL,
    signed      INTEGER NOT NULL DEFAULT 0 CHECK (signed IN (0, 1)),
    created_at  TEXT NOT NULL
);

-- Cron rituals (PLAN_CHECKIN_CRON, VOC_CRON): the last slot handled, so a restart neither
-- repeats nor skips one.
CREATE TABLE ritual_slots (
    ritual      TEXT PRIMARY KEY,
    last_slot   TEXT NOT NULL
);

-- /target 23 Продажи: a department's own target for the next wave.
CREATE TABLE department_targets (
    id             INTEGER PRIMARY KEY,
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    value          INTEGER NOT NULL CHECK (value BETWEEN 6 AND 30),
    set_by         INTEGER NOT NULL,
    set_at         TEXT NOT NULL,
    base_wave_id   INTEGER REFERENCES waves(id)
);
CREATE INDEX department_targets_department ON department_targets(department_id, id);

-- ---------------------------------------------------------------- the anonymous comment
-- No respondent, no pseudonym, no time finer than the day; the id is random (not a sequence),
-- so the order of rows does not tell the order in which people finished the survey.
CREATE TABLE survey_comments (
    id             INTEGER PRIMARY KEY,
    wave_id        INTEGER NOT NULL REFERENCES waves(id),
    department_id  INTEGER REFERENCES departments(id),  -- only where the department may be shown
    body           TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_day    TEXT NOT NULL
);
CREATE INDEX survey_comments_wave ON survey_comments(wave_id, department_id);

-- Who has passed the comment step of a wave (answered or skipped), by pseudonym: it says
-- nothing about what, or whether, they wrote.
CREATE TABLE survey_comment_steps (
    wave_id     INTEGER NOT NULL REFERENCES waves(id),
    respondent  TEXT NOT NULL,
    PRIMARY KEY (wave_id, respondent)
) WITHOUT ROWID;

-- ---------------------------------------------------------------- voice of the customer
CREATE TABLE voc_issues (
    id          INTEGER PRIMARY KEY,
    slot        TEXT NOT NULL UNIQUE,          -- the VOC_CRON time it belongs to
    period_from TEXT NOT NULL,
    period_to   TEXT NOT NULL,
    body        TEXT NOT NULL,                 -- JSON: figures and the scrubbed comments
    created_at  TEXT NOT NULL
);

CREATE TABLE voc_suggestions (
    id            INTEGER PRIMARY KEY,
    issue_id      INTEGER REFERENCES voc_issues(id),
    body          TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    -- Only when the employee chose to sign; an anonymous suggestion keeps no trace of them.
    signed_chat_id INTEGER,
    signed_name   TEXT,
    created_day   TEXT NOT NULL,
    initiative_id INTEGER REFERENCES initiatives(id)
);

-- ---------------------------------------------------------------- the internal service pulse
CREATE TABLE pulse_rounds (
    id         INTEGER PRIMARY KEY,
    opened_by  INTEGER NOT NULL,
    opened_at  TEXT NOT NULL,
    closed_at  TEXT
);
CREATE UNIQUE INDEX pulse_one_open ON pulse_rounds((closed_at IS NULL)) WHERE closed_at IS NULL;

-- A rater (pseudonym) picks up to three departments (score NULL) and then rates each 1–5.
CREATE TABLE pulse_ratings (
    round_id            INTEGER NOT NULL REFERENCES pulse_rounds(id),
    respondent          TEXT NOT NULL,
    rater_department_id INTEGER REFERENCES departments(id),
    served_department_id INTEGER NOT NULL REFERENCES departments(id),
    score               INTEGER CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (round_id, respondent, served_department_id)
) WITHOUT ROWID;
CREATE INDEX pulse_ratings_served ON pulse_ratings(round_id, served_department_id);
