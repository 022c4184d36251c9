"""PostgreSQL with row-level security: Django's backend, telling the database the active tenant
scope inside each transaction (see base.py)."""
