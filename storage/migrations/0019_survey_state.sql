-- What a survey surface needs of the live answers without reading them all (issue 13): every
-- report and dashboard page made the open wave's next release decision from all its complete
-- responses (34 ms at 17,000 respondents) and counted each wave's respondents by grouping its
-- answers, though nothing had changed since the previous page.
--   version      bumped by every write of the wave's answers, so "nothing changed" is one
--                lookup (bot.disclosure.service.refresh keeps the version it last decided on);
--   respondents  who has answered all six questions (a respondent is counted when their sixth
--                answer arrives), what storage.disclosure.complete_count returns.
-- Kept by triggers in the same transaction as each answer; tests/test_survey_state.py holds
-- them equal to the answers through any writes (and disclosure_totals, below, equal to the
-- released members).
CREATE TABLE survey_wave_state (
    wave_id      INTEGER PRIMARY KEY REFERENCES waves(id),
    version      INTEGER NOT NULL DEFAULT 0,
    respondents  INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER survey_wave_state_insert AFTER INSERT ON survey_answers BEGIN
    INSERT INTO survey_wave_state (wave_id, version, respondents)
    VALUES (NEW.wave_id, 1, (SELECT COUNT(*) = 6 FROM survey_answers
                             WHERE wave_id = NEW.wave_id AND respondent = NEW.respondent))
    ON CONFLICT (wave_id) DO UPDATE SET version = version + 1,
        respondents = respondents + excluded.respondents;
END;

-- A changed score or department changes what a release would count; a moved answer (another
-- wave, respondent or question: nothing does that today) is counted again for both sides.
CREATE TRIGGER survey_wave_state_update AFTER UPDATE ON survey_answers BEGIN
    UPDATE survey_wave_state SET version = version + 1,
        respondents = (SELECT COUNT(*) FROM (SELECT 1 FROM survey_answers a
                       WHERE a.wave_id = survey_wave_state.wave_id
                       GROUP BY a.respondent HAVING COUNT(*) = 6))
    WHERE wave_id IN (OLD.wave_id, NEW.wave_id)
      AND (OLD.wave_id != NEW.wave_id OR OLD.respondent != NEW.respondent
           OR OLD.question != NEW.question);
    UPDATE survey_wave_state SET version = version + 1
    WHERE wave_id = NEW.wave_id AND OLD.wave_id = NEW.wave_id
      AND OLD.respondent = NEW.respondent AND OLD.question = NEW.question;
    INSERT INTO survey_wave_state (wave_id, version, respondents)
    SELECT NEW.wave_id, 1, (SELECT COUNT(*) FROM (SELECT 1 FROM survey_answers a
                            WHERE a.wave_id = NEW.wave_id
                            GROUP BY a.respondent HAVING COUNT(*) = 6))
    WHERE NOT EXISTS (SELECT 1 FROM survey_wave_state WHERE wave_id = NEW.wave_id);
END;

-- A respondent who had all six loses their place with the first answer gone.
CREATE TRIGGER survey_wave_state_delete AFTER DELETE ON survey_answers BEGIN
    UPDATE survey_wave_state SET version = version + 1,
        respondents = respondents - ((SELECT COUNT(*) FROM survey_answers
                                      WHERE wave_id = OLD.wave_id
                                        AND respondent = OLD.respondent) = 5)
    WHERE wave_id = OLD.wave_id;
END;

-- The answers' version at which refresh last found no release to make, with the rules' group
-- size then: the same answers, releases and size give the same decision (choose_release is a
-- function of them alone), so refresh need not read the answers again.
CREATE TABLE disclosure_checked (
    wave_id    INTEGER NOT NULL REFERENCES waves(id),
    channel    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    min_group  INTEGER NOT NULL,
    PRIMARY KEY (wave_id, channel)
) WITHOUT ROWID;

-- Every released member's scores summed by wave, channel and department (members are only ever
-- added, with the release that counts them): a report read them back and summed their JSON for
-- every wave on every page. department is -1 for a member without one (a key cannot be NULL).
CREATE TABLE disclosure_totals (
    wave_id     INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    department  INTEGER NOT NULL,
    members     INTEGER NOT NULL,
    s1 INTEGER NOT NULL, s2 INTEGER NOT NULL, s3 INTEGER NOT NULL,
    s4 INTEGER NOT NULL, s5 INTEGER NOT NULL, s6 INTEGER NOT NULL,
    PRIMARY KEY (wave_id, channel, department)
) WITHOUT ROWID;

CREATE TRIGGER disclosure_totals_insert AFTER INSERT ON disclosure_members BEGIN
    INSERT INTO disclosure_totals
        (wave_id, channel, department, members, s1, s2, s3, s4, s5, s6)
    VALUES (NEW.wave_id, NEW.channel, IFNULL(NEW.department_id, -1), 1,
            IFNULL(json_extract(NEW.payload, '$[0]'), 0), IFNULL(json_extract(NEW.payload, '$[1]'), 0),
            IFNULL(json_extract(NEW.payload, '$[2]'), 0), IFNULL(json_extract(NEW.payload, '$[3]'), 0),
            IFNULL(json_extract(NEW.payload, '$[4]'), 0), IFNULL(json_extract(NEW.payload, '$[5]'), 0))
    ON CONFLICT (wave_id, channel, department) DO UPDATE SET members = members + 1,
        s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3,
        s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6;
END;

-- Nothing deletes or changes a released member; should anything ever, the totals follow.
CREATE TRIGGER disclosure_totals_delete AFTER DELETE ON disclosure_members BEGIN
    UPDATE disclosure_totals SET members = members - 1,
        s1 = s1 - IFNULL(json_extract(OLD.payload, '$[0]'), 0),
        s2 = s2 - IFNULL(json_extract(OLD.payload, '$[1]'), 0),
        s3 = s3 - IFNULL(json_extract(OLD.payload, '$[2]'), 0),
        s4 = s4 - IFNULL(json_extract(OLD.payload, '$[3]'), 0),
        s5 = s5 - IFNULL(json_extract(OLD.payload, '$[4]'), 0),
        s6 = s6 - IFNULL(json_extract(OLD.payload, '$[5]'), 0)
    WHERE wave_id = OLD.wave_id AND channel = OLD.channel
      AND department = IFNULL(OLD.department_id, -1);
    DELETE FROM disclosure_totals WHERE wave_id = OLD.wave_id AND channel = OLD.channel
      AND department = IFNULL(OLD.department_id, -1) AND members = 0;
END;

CREATE TRIGGER disclosure_totals_update AFTER UPDATE ON disclosure_members BEGIN
    SELECT RAISE(ABORT, 'a released member is never changed');
END;

-- What is there already.
INSERT INTO disclosure_totals (wave_id, channel, department, members, s1, s2, s3, s4, s5, s6)
SELECT wave_id, channel, IFNULL(department_id, -1), COUNT(*),
       TOTAL(IFNULL(json_extract(payload, '$[0]'), 0)), TOTAL(IFNULL(json_extract(payload, '$[1]'), 0)),
       TOTAL(IFNULL(json_extract(payload, '$[2]'), 0)), TOTAL(IFNULL(json_extract(payload, '$[3]'), 0)),
       TOTAL(IFNULL(json_extract(payload, '$[4]'), 0)), TOTAL(IFNULL(json_extract(payload, '$[5]'), 0))
FROM disclosure_members GROUP BY wave_id, channel, IFNULL(department_id, -1);

INSERT INTO survey_wave_state (wave_id, version, respondents)
SELECT wave_id, 1, COUNT(*) FILTER (WHERE n = 6)
FROM (SELECT wave_id, COUNT(*) AS n FROM survey_answers GROUP BY wave_id, respondent)
GROUP BY wave_id;
