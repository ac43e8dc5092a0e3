"""The configuration schema: strict (unknown keys are errors), immutable, cross-checked.

This is the raw, validated shape of ``zonegate.yaml``. Runtime objects (providers, detectors,
the policy's view of zones) are built from it in ``create_app``; nothing here does I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from zonegate.config.model_schema import (
    AnthropicProviderConfig as AnthropicProviderConfig,
    BreakerConfig as BreakerConfig,
    GeminiProviderConfig as GeminiProviderConfig,
    HealthCheckConfig as HealthCheckConfig,
    LlamaCppProviderConfig as LlamaCppProviderConfig,
    ModelConfig as ModelConfig,
    OpenAICompatProviderConfig as OpenAICompatProviderConfig,
    Pricing as Pricing,
    ProviderConfig as ProviderConfig,
    ResilienceConfig as ResilienceConfig,
    RetryConfig as RetryConfig,
    Timeouts as Timeouts,
)
from zonegate.config.schema_base import (
    BUILTIN_MODEL_REF as BUILTIN_MODEL_REF,
    BUILTIN_MODEL_SHA256 as BUILTIN_MODEL_SHA256,
    CredentialRef as CredentialRef,
    Name as Name,
    Strict as Strict,
)
from zonegate.guards.detectors.custom import UnsafePattern, compile_pattern

DEFAULT_DATA_CLASSES = ("public", "internal", "confidential", "restricted")


class ReferenceProblems(ValueError):
    """Raised by the schema's cross-reference check; carries each problem with its key path."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))


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
