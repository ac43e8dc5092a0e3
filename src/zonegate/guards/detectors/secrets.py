"""Credential detectors: private key blocks, cloud keys, vendor API tokens.

A secret is never allowed to leave with the request, whatever the route: these map to the
highest class in the default config. Patterns are compiled once, at import.
"""

from __future__ import annotations

import re

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import BuiltinDetector, glued
from zonegate.guards.detectors._scan import lowered, positions

# A PEM / OpenSSH / PGP private key block runs from its BEGIN line to the next END line. Without
# an END line (a truncated paste), it covers the header and the base64 lines that follow it.
_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_BODY = re.compile(
    r"(?:\r?\n(?:(?:Proc-Type|DEK-Info|Comment|Version): [^\r\n]*"
    r"|[A-Za-z0-9+/=]+(?=\r?\n|\Z)))*"
)

_AWS_ACCESS_KEY = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")

# OpenAI (sk-..., sk-proj-..., sk-svcacct-..., sk-admin-...) and Anthropic (sk-ant-...) keys.
_KEY_KINDS = r"(?:proj|svcacct|admin|ant)-"
_API_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-])sk-(?:{_KEY_KINDS}|(?!{_KEY_KINDS}))([A-Za-z0-9_-]{{20,}})"
)
# A lower-case, hyphenated slug ("sk-learn-is-a-python-library") is prose, not a key.
_SLUG = re.compile(r"[a-z-]+")


class PrivateKeyDetector(BuiltinDetector):
    """``-----BEGIN ... PRIVATE KEY-----`` blocks (RSA, EC, DSA, OpenSSH, PKCS#8, PGP)."""

    __slots__ = ()
    type = "private_key"

    def detect(self, text: str) -> list[Finding]:
        if "PRIVATE KEY" not in text:
            return []
        found: list[Finding] = []
        pos = 0
        end_seen = True  # False once no END line is left: later blocks are all truncated
        while (begin := _KEY_BEGIN.search(text, pos)) is not None:
            end = _KEY_END.search(text, begin.end()) if end_seen else None
            if end is None:
                end_seen = False
                stop = _KEY_BODY.match(text, begin.end())
                pos = stop.end() if stop is not None else begin.end()
            else:
                pos = end.end()
            found.append(self._finding(begin.start(), pos))
        return found


class AwsAccessKeyDetector(BuiltinDetector):
    """AWS access key ids: ``AKIA`` (long-term) or ``ASIA`` (temporary) and 16 characters."""

    __slots__ = ()
    type = "aws_access_key"

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for prefix in ("AKIA", "ASIA"):
            for pos in positions(text, prefix):
                m = _AWS_ACCESS_KEY.match(text, pos)
                if m is not None:
                    found.append(self._finding(m.start(), m.end()))
        found.sort(key=lambda f: f.start)
        return found


class ApiKeyDetector(BuiltinDetector):
    """``sk-`` API keys (OpenAI, Anthropic) with at least 20 key characters after the prefix."""

    __slots__ = ()
    type = "api_key"

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for pos in positions(text, "sk-"):
            m = _API_KEY.match(text, pos)
            if m is not None and _SLUG.fullmatch(m.group(1)) is None:
                found.append(self._finding(m.start(), m.end()))
        return found


# --- vendor tokens ------------------------------------------------------------------------------
# Shapes as the vendors document them (and as public secret-scanning rule sets record them).

_GITHUB = re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})")
_GITLAB = re.compile(r"gl(?:pat|dt|rt|ptt|ft|imt|soat|cbt|agent|oas)-[A-Za-z0-9_-]{20,64}")
_SLACK = re.compile(
    r"(?:xox[abposr]-[0-9A-Za-z-]{10,250}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-f0-9]{32,}"
    r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,})"
)
_STRIPE = re.compile(r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247}")
_TWILIO = re.compile(r"(?:SK|AC)[0-9a-f]{32}")
_GOOGLE_API = re.compile(r"AIza[0-9A-Za-z_-]{35}")


class _TokenDetector(BuiltinDetector):
    """A vendor token: fixed prefixes (found by substring search) and a pattern matched at each,
    standing alone."""

    __slots__ = ()
    _prefixes: tuple[str, ...] = ()
    _gate = ""  # a character every token of the kind holds (a fast first check)
    _pattern: re.Pattern[str]

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if self._gate not in text:
            return found
        for prefix in self._prefixes:
            for pos in positions(text, prefix):
                m = self._pattern.match(text, pos)
                if m is not None and not glued(text, m.start(), m.end()):
                    found.append(self._finding(m.start(), m.end()))
        if len(self._prefixes) > 1:
            found.sort(key=lambda f: f.start)
        return found


class GithubTokenDetector(_TokenDetector):
    """GitHub tokens: ``ghp_`` (personal), ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``,
    ``github_pat_`` (fine-grained)."""

    __slots__ = ()
    type = "github_token"
    _gate = "_"
    _prefixes = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
    _pattern = _GITHUB


class GitlabTokenDetector(_TokenDetector):
    """GitLab tokens: ``glpat-`` (personal) and the deploy, runner, trigger and OAuth kinds."""

    __slots__ = ()
    type = "gitlab_token"
    _gate = "gl"
    _prefixes = ("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "glsoat-", "glcbt-",
                 "glagent-", "gloas-")  # fmt: skip
    _pattern = _GITLAB


class SlackTokenDetector(_TokenDetector):
    """Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xapp-``) and webhook URLs."""

    __slots__ = ()
    type = "slack_token"
    _prefixes = ("xox", "xapp-", "https://hooks.slack.com/")
    _pattern = _SLACK


class StripeKeyDetector(_TokenDetector):
    """Stripe secret and restricted keys, live and test (``sk_live_``, ``rk_live_``...)."""

    __slots__ = ()
    type = "stripe_key"
    _gate = "_"
    _prefixes = ("sk_live_", "rk_live_", "sk_test_", "rk_test_")
    _pattern = _STRIPE


class TwilioKeyDetector(_TokenDetector):
    """Twilio API key SIDs (``SK`` + 32 hex) and account SIDs (``AC`` + 32 hex)."""

    __slots__ = ()
    type = "twilio_key"
    _prefixes = ("SK", "AC")
    _pattern = _TWILIO


class GoogleApiKeyDetector(_TokenDetector):
    """Google API keys (``AIza`` + 35 characters)."""

    __slots__ = ()
    type = "google_api_key"
    _prefixes = ("AIza",)
    _pattern = _GOOGLE_API


# --- cloud credentials --------------------------------------------------------------------------

_GCP_TYPE = re.compile(r'"type"\s*:\s*"service_account"')
_GCP_KEY = re.compile(r'"private_key"\s*:\s*"(?:[^"\\]|\\.)*"')
_AZURE = re.compile(
    r"(?:AccountKey|SharedAccessKey|AccessKey)\s*=\s*([A-Za-z0-9+/]{40,100}={0,2})"
    r"|[?&]sig=([A-Za-z0-9%+/]{40,120}(?:%3D|=){0,2})",
    re.IGNORECASE,
)


class GcpServiceAccountDetector(BuiltinDetector):
    """Google Cloud service-account key files: ``"type": "service_account"`` with a
    ``"private_key"``; the finding is the private key entry."""

    __slots__ = ()
    type = "gcp_service_account"

    def detect(self, text: str) -> list[Finding]:
        if "service_account" not in text or '"private_key"' not in text:
            return []
        if _GCP_TYPE.search(text) is None:
            return []
        return [self._finding(m.start(), m.end()) for m in _GCP_KEY.finditer(text)]


class AzureKeyDetector(BuiltinDetector):
    """Azure storage / Service Bus / Event Hubs account keys in connection strings
    (``AccountKey=...``, ``SharedAccessKey=...``) and SAS token signatures (``sig=...``)."""

    __slots__ = ()
    type = "azure_key"

    def detect(self, text: str) -> list[Finding]:
        if "=" not in text:
            return []
        low = lowered(text)
        if "accesskey" not in low and "accountkey" not in low and "sig=" not in low:
            return []
        found: list[Finding] = []
        for m in _AZURE.finditer(text):
            group = 1 if m.group(1) is not None else 2
            if group == 2 and "sv=" not in text[max(0, m.start() - 300) : m.start()]:
                continue  # a SAS URL carries its service version before the signature
            found.append(self._finding(m.start(group), m.end(group)))
        return found
