-- Cases (bot/cases/): the loop with one customer about one subject — a complaint after a low
-- rating, a free-text question, a «Купить снова» without a shop link. Every message of the
-- conversation is a row, so the loop survives restarts and shows up in reports.

CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers(id),
    topic              TEXT NOT NULL CHECK (topic IN ('complaint', 'question', 'buy_again')),
    -- What the case is about, as one key: 'review:<id>', 'question', 'item:<id>'. At most one
    -- case per customer and subject is not closed (the index below).
    subject            TEXT NOT NULL,
    review_id          INTEGER REFERENCES reviews(id),
    order_item_id      INTEGER REFERENCES order_items(id),
    status             TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'answered', 'resolved', 'closed')),
    opened_at          TEXT NOT NULL,
    -- When the first answer is due: ALERT_RESPONSE_HOURS counted in the send window.
    due_at             TEXT NOT NULL,
    first_answered_at  TEXT,
    first_answered_by  INTEGER,                -- admin's Telegram id
    resolved_at        TEXT,                   -- the latest «Решено»
    resolved_by        INTEGER,
    resolved_by_name   TEXT,
    closed_at          TEXT,
    closed_how         TEXT CHECK (closed_how IN ('confirmed', 'timeout')),
    reopened           INTEGER NOT NULL DEFAULT 0   -- how many times «Нет» reopened it
);
CREATE UNIQUE INDEX cases_one_active ON cases(customer_id, subject) WHERE status != 'closed';
CREATE INDEX cases_customer ON cases(customer_id, status);
CREATE INDEX cases_opened ON cases(opened_at);
CREATE INDEX cases_review ON cases(review_id) WHERE review_id IS NOT NULL;
CREATE INDEX cases_item ON cases(order_item_id) WHERE order_item_id IS NOT NULL;
-- Resolved cases waiting for the customer's «Да»/«Нет»: the sweep closes them after 3 days.
CREATE INDEX cases_waiting_confirmation ON cases(resolved_at) WHERE status = 'resolved';

-- The conversation and its events. author: who (customer, shop = an admin, system);
-- event: message (text said), opened, resolved, reopened, confirmed, closed.
CREATE TABLE case_messages (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    author      TEXT NOT NULL CHECK (author IN ('customer', 'shop', 'system')),
    event       TEXT NOT NULL
                CHECK (event IN ('message', 'opened', 'resolved', 'reopened', 'confirmed',
                                 'closed')),
    admin_id    INTEGER,
    admin_name  TEXT,
    text        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX case_messages_case ON case_messages(case_id, id);

-- An admin who pressed «Ответить клиенту»: their next text message goes to this case.
CREATE TABLE case_reply_targets (
    admin_id  INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    set_at    TEXT NOT NULL
) WITHOUT ROWID;

-- Messages about a case in admins' chats (alerts, relayed replies): a reply to one of them
-- continues that case, and their buttons are removed once the case is resolved.
CREATE TABLE case_chat_messages (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    PRIMARY KEY (chat_id, message_id)
) WITHOUT ROWID;
CREATE INDEX case_chat_messages_case ON case_chat_messages(case_id);

-- Customer effort (CES), the review's optional step after NPS: 1 very hard … 5 very easy.
ALTER TABLE reviews ADD COLUMN ces INTEGER CHECK (ces BETWEEN 1 AND 5);
ALTER TABLE reviews ADD COLUMN ces_at TEXT;
