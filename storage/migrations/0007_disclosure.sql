-- Disclosure control (bot/disclosure/): the pseudonym key's fingerprint and what has been
-- released of each wave, so that figures never change by less than SURVEY_MIN_GROUP people.

-- One row: the fingerprint of the pseudonym key this database is used with (never the key).
-- Written at the first start after this migration, with the key in use then.
CREATE TABLE pseudonym_key (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint     TEXT NOT NULL,
    set_at          TEXT NOT NULL
);
-- From which wave on answers stand under per-wave pseudonyms; the waves before keep the
-- one-for-every-wave pseudonym they were answered with (an open one must still find them).
CREATE TABLE pseudonym_scheme (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    per_wave_from   INTEGER NOT NULL
);
INSERT INTO pseudonym_scheme (id, per_wave_from) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM waves;

-- The releases of a wave, per channel ('scores' for the survey's figures; a comments feature
-- uses its own): epoch 1, 2, ... and the groups each one shows (JSON of rules.Structure).
CREATE TABLE disclosure_releases (
    wave_id     INTEGER NOT NULL REFERENCES waves(id),
    channel     TEXT NOT NULL,
    epoch       INTEGER NOT NULL CHECK (epoch >= 1),
    structure   TEXT NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (wave_id, channel, epoch)
) WITHOUT ROWID;

-- The respondents a release counted, with the department of the wave and their answers as
-- they were then (JSON array): later releases and exports use these, never newer answers.
CREATE TABLE disclosure_members (
    wave_id     INTEGER NOT NULL REFERENCES waves(id),
    channel     TEXT NOT NULL,
    respondent  TEXT NOT NULL,
    department_id INTEGER REFERENCES departments(id),
    epoch       INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (wave_id, channel, respondent)
) WITHOUT ROWID;

-- A closed wave whose last release has been decided: nothing can change it any more, so a
-- report reads its releases without looking at the answers again.
CREATE TABLE disclosure_settled (
    wave_id     INTEGER NOT NULL REFERENCES waves(id),
    channel     TEXT NOT NULL,
    settled_at  TEXT NOT NULL,
    PRIMARY KEY (wave_id, channel)
) WITHOUT ROWID;
