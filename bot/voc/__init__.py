"""The monthly voice of the customer: the month's customer figures and real comments, scrubbed of
personal details, sent to every employee with «Suggest an improvement»."""
