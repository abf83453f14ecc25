"""Shop systems' webhooks as they send them: signature checks and body → purchase (pure).

Each system maps its own order JSON to the body of our purchases API (`bot.customers.schema`),
so a webhook, an API call and a CSV line of the same order are one purchase, matched by order id.
"""
