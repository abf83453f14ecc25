-- Issue 10: how a customer's Telegram link was made.
-- A receipt link is a bearer token: whoever holds the receipt can open it. A contact shared
-- through the request_contact button carries the number Telegram checked for that account.
-- phone_checked = 1: the account proved the customer's phone; 0: linked by the link alone (or
-- before this was recorded). A matching phone wins over an unchecked link, and /forget from an
-- unchecked account unlinks only that account, leaving the shop's record as it is.
ALTER TABLE customers ADD COLUMN phone_checked INTEGER NOT NULL DEFAULT 0;

-- Who opened which receipt link and was asked for their phone to confirm it: the contact they
-- share then links that customer (several may share a phone). One claim per Telegram account.
CREATE TABLE link_claims (
    telegram_id   INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    created_at    TEXT NOT NULL
);
