"""Reviews: the request after a purchase, the answers, the alerts to admins on a bad rating."""
