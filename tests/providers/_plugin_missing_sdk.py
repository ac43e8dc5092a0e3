"""A provider plugin whose SDK is not installed (used by the registry tests)."""

from __future__ import annotations

import zonegate_test_missing_sdk  # type: ignore[import-not-found]  # noqa: F401


class Provider:
    pass
