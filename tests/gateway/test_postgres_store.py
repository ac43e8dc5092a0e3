"""The same pipeline with its state in the real PostgreSQL server instead of SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.conftest import make_gateway
from zonegate.audit.verify import verify_chain
from zonegate.config.load import LoadedConfig

pytestmark = pytest.mark.postgres


async def test_gateway_on_postgres(
    tmp_path: Path, loaded: LoadedConfig, pg_schema_url: str
) -> None:
    async with make_gateway(tmp_path, loaded, db_url=pg_schema_url) as gw:
        ok = await gw.chat("hello")
        local = await gw.chat("card 4111 1111 1111 1111")
        denied = await gw.chat("card 4111 1111 1111 1111", model="vendor-only")
        assert (ok.status_code, local.status_code, denied.status_code) == (200, 200, 403)
        assert local.headers["x-zonegate-zone"] == "local"
        records = gw.audit()
        assert [r["decision"] for r in records] == ["allow", "allow", "deny"]
        assert [r["request_id"] for r in records] == [
            r.headers["x-zonegate-request-id"] for r in (ok, local, denied)
        ]
        result = verify_chain(gw.services.db)
        assert result.ok
        assert result.checked == 3
