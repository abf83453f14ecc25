-- The loop's «Купить снова» count (storage.cases.buy_again_between) driven by the intents
-- (issue 13): the buy-again cases opened since the period's start, each looking up its
-- reminder (outbox_ref), instead of every reminder of the period looking for a case
-- (10,000 lookups a year of reminders, 8-13 ms at 3M reviews). An intent is opened after its
-- reminder was sent, so those of a period's reminders are among the cases opened since it began.
CREATE INDEX cases_buy_again ON cases(opened_at, order_item_id) WHERE topic = 'buy_again';
