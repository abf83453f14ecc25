"""Action plans: initiatives tied to the survey's questions, their owners, statuses and check-ins.

`model` is the pure part (statuses and their moves, due presets, the weakest-first order of
questions, the plan-beside-change figures); `rituals` decides monthly cron slots; `comments`
which anonymous comments may be read; `service` holds the use cases over a connection;
`messages` what owners and admins see, and the plans' outbox kinds.
"""
