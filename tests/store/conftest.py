from tests.store.backends import db, db_url, pg_schema_url, pg_user  # noqa: F401
