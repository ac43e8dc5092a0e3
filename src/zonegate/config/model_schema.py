"""The ``models`` section of the schema: one pinned deployment per model, its provider (llama.cpp
in-process, OpenAI-compatible, Gemini, Anthropic), pricing, resilience and health checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from zonegate.config.schema_base import BUILTIN_MODEL_REF, CredentialRef, Strict, check_headers
from zonegate.wire.anthropic_outbound import ANTHROPIC_VERSION


class LlamaCppProviderConfig(Strict):
    """An open-weight GGUF model run in-process by llama.cpp."""

    type: Literal["llamacpp"]
    model_path: str = Field(
        BUILTIN_MODEL_REF,
        description="Path to a GGUF file, or 'builtin:smollm2' for the bundled SmolLM2-135M.",
    )
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Expected SHA-256 of the weights; required unless model_path is builtin.",
    )
    n_ctx: int = Field(2048, ge=128)
    n_threads: int | None = Field(None, ge=1)
    max_concurrency: int = Field(1, ge=1, description="Generations run at once (queue beyond).")
    seed: int = 0
    embeddings: bool = Field(
        False,
        description="Serve /v1/embeddings (mean-pooled, normalised) instead of chat completions.",
    )

    @model_validator(mode="after")
    def _digest_required(self) -> LlamaCppProviderConfig:
        if self.model_path != BUILTIN_MODEL_REF and self.sha256 is None:
            raise ValueError("sha256 is required for a model_path other than 'builtin:smollm2'")
        return self


class Timeouts(Strict):
    connect: float = Field(5.0, gt=0)
    read: float = Field(60.0, gt=0)
    total: float = Field(120.0, gt=0)


class HttpUpstreamConfig(Strict):
    """What every provider reached over HTTP takes: extra headers (credentials only as
    references), timeouts, its connection pool and a limit on what it may send back."""

    headers: Annotated[dict[str, str], AfterValidator(check_headers)] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_connections: int = Field(100, ge=1)
    max_response_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest response body (or one streamed event) accepted from the upstream.",
    )


class OpenAICompatProviderConfig(HttpUpstreamConfig):
    """Any OpenAI-compatible endpoint: OpenAI, Mistral, vLLM, Ollama, llama.cpp server, TGI."""

    type: Literal["openai_compat"]
    base_url: str = Field(
        pattern=r"^https?://[^?#]+$",
        description="Up to and including '/v1' (Azure OpenAI: the deployment URL, ending "
        "'/openai/deployments/NAME'); no query string (see api_version).",
    )
    model: str = Field(description="The upstream's model name, pinned (e.g. a dated version).")
    api_key: CredentialRef | None = Field(
        None, description="Sent as 'Authorization: Bearer'; Azure keys go in headers.api-key."
    )
    api_version: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z.-]+$",
        description="Azure OpenAI's api-version, sent as a query parameter on every call.",
    )


class GeminiProviderConfig(HttpUpstreamConfig):
    """Google's Gemini API (Generative Language API, REST); the key goes in a header only."""

    type: Literal["gemini"]
    base_url: str = Field(
        "https://generativelanguage.googleapis.com/v1beta",
        pattern=r"^https?://[^?#]+$",
        description="Up to and including the API version; no query string (the key is a header).",
    )
    model: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        description="The model name without 'models/', pinned (e.g. 'gemini-2.5-flash-001').",
    )
    api_key: CredentialRef = Field(description="Sent as the x-goog-api-key header.")


class AnthropicProviderConfig(HttpUpstreamConfig):
    """Anthropic's Messages API; the key goes in the x-api-key header."""

    type: Literal["anthropic"]
    base_url: str = Field(
        "https://api.anthropic.com/v1",
        pattern=r"^https?://[^?#]+$",
        description="Up to and including '/v1' (requests go to '{base_url}/messages').",
    )
    model: str = Field(
        min_length=1,
        description="The upstream's model name, pinned (e.g. 'claude-sonnet-4-5-20250929').",
    )
    api_key: CredentialRef = Field(description="Sent as the x-api-key header.")
    api_version: str = Field(
        ANTHROPIC_VERSION,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="Sent as the anthropic-version header; the request bodies are written for "
        "the default.",
    )
    default_max_tokens: int = Field(
        4096,
        ge=1,
        description="max_tokens sent when the caller sets no limit (Anthropic requires one).",
    )
    sampling: Literal["drop", "forward"] = Field(
        "drop",
        description="Whether the caller's temperature, top_p and top_k reach the upstream. "
        "'drop' (the default) leaves them out, so a request that sets them is still served, "
        "but with the model's own sampling (a caller asking for temperature 0 does not get "
        "it): the current API version and some recent models refuse them at any value. "
        "'forward' sends them (a temperature above 1 is refused, not clamped), for an older "
        "api_version and a model that still take them; elsewhere such requests fail with 400.",
    )


ProviderConfig = Annotated[
    LlamaCppProviderConfig
    | OpenAICompatProviderConfig
    | GeminiProviderConfig
    | AnthropicProviderConfig,
    Field(discriminator="type"),
]


class Pricing(Strict):
    input_per_mtok: Decimal = Field(ge=0, description="Price per million input tokens.")
    output_per_mtok: Decimal = Field(ge=0, description="Price per million output tokens.")
    currency: str = "USD"


class RetryConfig(Strict):
    """Tries on one model for failures where another try can help (see docs/providers.md)."""

    attempts: int = Field(3, ge=1, le=10, description="Tries on this model, the first included.")
    initial_backoff: float = Field(0.25, ge=0, description="Seconds; doubles each try, jittered.")
    max_backoff: float = Field(4.0, ge=0, description="Longest wait between two tries, seconds.")
    max_retry_after: float = Field(
        10.0,
        ge=0,
        description="A Retry-After longer than this moves on to the next candidate instead.",
    )


class BreakerConfig(Strict):
    failures: int = Field(5, ge=1, description="Consecutive failures that open the circuit.")
    open_seconds: float = Field(30.0, gt=0, description="How long an open circuit skips the model.")


class ResilienceConfig(Strict):
    retry: RetryConfig = Field(default_factory=RetryConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    first_token_timeout: float | None = Field(
        None,
        gt=0,
        description="Seconds a stream may take to produce its first output; past it the next "
        "candidate is tried.",
    )
    max_concurrency: int | None = Field(
        None, ge=1, description="Most calls in flight to this model; beyond it, the next candidate."
    )


class HealthCheckConfig(Strict):
    """Active checks of an upstream (``GET {base_url}/models`` for OpenAI-compatible servers)."""

    enabled: bool | None = Field(
        None,
        description="Default: on for HTTP upstreams in zones operated by 'self' (vLLM, Ollama, "
        "llama.cpp server...), off for vendor APIs and in-process models.",
    )
    interval_seconds: float = Field(15.0, ge=0.01)
    timeout_seconds: float = Field(3.0, gt=0)
    unhealthy_after: int = Field(2, ge=1, description="Consecutive failed checks to mark down.")
    healthy_after: int = Field(1, ge=1, description="Consecutive passed checks to mark up again.")


class ModelConfig(Strict):
    """One pinned deployment in one zone."""

    zone: str
    provider: ProviderConfig
    resilience: ResilienceConfig = Field(default_factory=ResilienceConfig)
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    version: str | None = Field(None, description="Pinned upstream version or checkpoint.")
    context_window: int | None = Field(None, ge=1)
    pricing: Pricing | None = None
    description: str = ""
