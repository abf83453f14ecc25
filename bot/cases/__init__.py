"""Cases: the loop with one customer about one subject (complaint, question, buy-again)."""
