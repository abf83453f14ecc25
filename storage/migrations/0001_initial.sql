-- Every timestamp is UTC text in the form 2026-01-12T09:00:00.000000Z (bot/clock.py to_db),
-- so it sorts and compares like time.

-- ---------------------------------------------------------------- employees and the survey
CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at  TEXT NOT NULL
);

CREATE TABLE invites (
    token          TEXT PRIMARY KEY,          -- the /start payload, unguessable
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    created_by     INTEGER NOT NULL,          -- admin's Telegram id
    created_at     TEXT NOT NULL
);

CREATE TABLE employees (
    id             INTEGER PRIMARY KEY,
    telegram_id    INTEGER UNIQUE,            -- NULL once the employee has left (/leave)
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    language       TEXT NOT NULL DEFAULT 'ru',
    joined_at      TEXT NOT NULL,
    left_at        TEXT,
    unreachable_at TEXT                       -- the employee blocked the bot
);
CREATE INDEX employees_department ON employees(department_id);

CREATE TABLE waves (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    opened_by  INTEGER NOT NULL,
    opened_at  TEXT NOT NULL,
    closed_at  TEXT
);
-- At most one open wave: every open row has the same indexed value (1).
CREATE UNIQUE INDEX waves_one_open ON waves((closed_at IS NULL)) WHERE closed_at IS NULL;

-- Who was asked in a wave. Ties an employee to a wave, never to an answer.
CREATE TABLE wave_invitations (
    wave_id        INTEGER NOT NULL REFERENCES waves(id),
    employee_id    INTEGER NOT NULL REFERENCES employees(id),
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    invited_at     TEXT NOT NULL,
    PRIMARY KEY (wave_id, employee_id)
) WITHOUT ROWID;

-- Answers stand against an HMAC pseudonym of the Telegram id; the key lives outside the
-- database, so the database alone does not tie a person to a score.
CREATE TABLE survey_answers (
    wave_id        INTEGER NOT NULL REFERENCES waves(id),
    respondent     TEXT NOT NULL,
    department_id  INTEGER REFERENCES departments(id),
    question       INTEGER NOT NULL CHECK (question BETWEEN 1 AND 6),
    score          INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    answered_at    TEXT NOT NULL,
    PRIMARY KEY (wave_id, respondent, question)
) WITHOUT ROWID;

CREATE TABLE survey_targets (
    id           INTEGER PRIMARY KEY,
    value        INTEGER NOT NULL CHECK (value BETWEEN 6 AND 30),
    set_by       INTEGER NOT NULL,
    set_at       TEXT NOT NULL,
    base_wave_id INTEGER REFERENCES waves(id)  -- the latest wave when the target was set
);

-- ---------------------------------------------------------------- customers and purchases
CREATE TABLE customers (
    id             INTEGER PRIMARY KEY,
    external_id    TEXT NOT NULL UNIQUE,      -- the shop's own customer id
    name           TEXT,
    phone          TEXT,                      -- E.164, e.g. +79991234567
    link_token     TEXT NOT NULL UNIQUE,      -- /start payload of customer_link
    telegram_id    INTEGER UNIQUE,
    language       TEXT,
    subscribed     INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
    unreachable_at TEXT,                      -- 403 from Telegram: blocked or deactivated
    created_at     TEXT NOT NULL,
    linked_at      TEXT,
    forgotten_at   TEXT
);
CREATE INDEX customers_phone ON customers(phone);

CREATE TABLE products (
    sku           TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    restock_days  INTEGER CHECK (restock_days > 0),
    reorder_url   TEXT,
    updated_at    TEXT NOT NULL
);

-- One review request may cover several orders placed close together.
CREATE TABLE reviews (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    created_at    TEXT NOT NULL,
    requested_at  TEXT,                       -- when the request was sent
    rating        INTEGER CHECK (rating BETWEEN 1 AND 5),
    rated_at      TEXT,
    nps           INTEGER CHECK (nps BETWEEN 0 AND 10),
    nps_at        TEXT,
    comment       TEXT,
    commented_at  TEXT,
    completed_at  TEXT,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'requested', 'answered', 'expired', 'cancelled'))
);
CREATE INDEX reviews_customer ON reviews(customer_id, created_at);
CREATE INDEX reviews_requested ON reviews(requested_at);
CREATE INDEX reviews_rated ON reviews(rated_at);

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY,
    order_id      TEXT NOT NULL UNIQUE,       -- the shop's order id (idempotency key)
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    purchased_at  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    review_id     INTEGER REFERENCES reviews(id)
);
CREATE INDEX orders_customer ON orders(customer_id, purchased_at);
CREATE INDEX orders_purchased ON orders(purchased_at, customer_id);
CREATE INDEX orders_review ON orders(review_id);

CREATE TABLE order_items (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL REFERENCES orders(id),
    sku           TEXT NOT NULL,
    name          TEXT NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    restock_days  INTEGER CHECK (restock_days > 0)
);
CREATE INDEX order_items_order ON order_items(order_id);
CREATE INDEX order_items_sku ON order_items(sku);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    review_id    INTEGER NOT NULL UNIQUE REFERENCES reviews(id),
    created_at   TEXT NOT NULL,
    resolved_by  INTEGER,                     -- admin's Telegram id
    resolved_at  TEXT
);

CREATE TABLE restock_optouts (
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    sku          TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (customer_id, sku)
) WITHOUT ROWID;

-- ---------------------------------------------------------------- the outbox
-- Every message the bot sends on its own (not as an answer) is a row here, written in the
-- same transaction as whatever caused it. One scheduler job claims due rows and sends them.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,              -- survey_invite, survey_reminder, review_request, ...
    customer_id   INTEGER REFERENCES customers(id),
    employee_id   INTEGER REFERENCES employees(id),
    chat_id       INTEGER,                    -- a fixed chat (admins); else from the recipient
    ref_id        INTEGER,                    -- the wave, review or order item it is about
    due_at        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'expired')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    claimed_at    TEXT,
    sent_at       TEXT,
    message_id    INTEGER,
    converted_at  TEXT,                       -- restock: the SKU was bought again in time
    created_at    TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, due_at);
CREATE INDEX outbox_customer ON outbox(customer_id, status);
CREATE INDEX outbox_employee ON outbox(employee_id, status);
CREATE INDEX outbox_ref ON outbox(kind, ref_id);
