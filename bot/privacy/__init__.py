"""Privacy: /forget for customers, /leave for employees, and what admins may erase."""
