"""Persistence: SQLAlchemy engine, tables, narrow repositories, Alembic migrations."""
