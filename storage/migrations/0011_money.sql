-- Shop data (issue 14): money per item, e-mail per customer, and the events the bot posts out.

-- The unit price in hundredths of its currency (595.00 → 59500), so sums are exact; NULL when
-- the shop sent none. Quantities may be fractional (0.5 kg): the column's INTEGER affinity
-- keeps a REAL that is not a whole number as it is.
ALTER TABLE order_items ADD COLUMN price_cents INTEGER CHECK (price_cents >= 0);
ALTER TABLE order_items ADD COLUMN currency TEXT;

-- Cleared by /forget, like the phone.
ALTER TABLE customers ADD COLUMN email TEXT;
CREATE INDEX customers_email ON customers(email) WHERE email IS NOT NULL;

-- Revenue by purchase time: the report's money figures are one range scan over orders joined
-- to their items by order_items_order.

-- Events posted to WEBHOOK_OUT_URL. The body is fixed when the event happens (signed as it is
-- stored); an outbox row of kind event_out points at it (ref_id) and carries the delivery's
-- status, attempts and last error.
CREATE TABLE events_out (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
