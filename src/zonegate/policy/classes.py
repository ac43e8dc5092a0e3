"""Data classes: the configured, ordered sensitivity levels, compared by rank.

The policy works on integer ranks (0 = least sensitive) so that comparisons on the request path
are integer comparisons; names appear only at the edges (config, headers, audit, messages).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import MappingProxyType


class UnknownDataClass(KeyError):
    """A data class name that the configuration does not define."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = tuple(known)

    def __str__(self) -> str:
        return (
            f"unknown data class {self.name!r}; use one of {', '.join(self.known)} "
            "(the data_classes list in the config, lowest first)"
        )


class DataClasses:
    """An immutable ordered set of data class names, lowest first."""

    __slots__ = ("_names", "_ranks")

    def __init__(self, names: Sequence[str]) -> None:
        if not names:
            raise ValueError("at least one data class is required")
        if len(set(names)) != len(names):
            raise ValueError(f"each data class must appear once: {list(names)}")
        self._names: tuple[str, ...] = tuple(names)
        self._ranks = MappingProxyType({name: i for i, name in enumerate(self._names)})

    def rank(self, name: str) -> int:
        """The rank of ``name`` (0 = lowest); ``UnknownDataClass`` if it is not configured."""
        try:
            return self._ranks[name]
        except KeyError:
            raise UnknownDataClass(name, self._names) from None

    def name(self, rank: int) -> str:
        """The name at ``rank``; ``IndexError`` for a rank outside the configured levels."""
        if not 0 <= rank < len(self._names):
            raise IndexError(f"data class rank {rank} is outside 0..{len(self._names) - 1}")
        return self._names[rank]

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def highest(self) -> str:
        return self._names[-1]

    @property
    def lowest(self) -> str:
        return self._names[0]

    @property
    def highest_rank(self) -> int:
        return len(self._names) - 1

    def max_rank(self, *ranks: int | None) -> int:
        """The highest of ``ranks`` (``None`` entries ignored); the lowest rank when none given."""
        best = 0
        for r in ranks:
            if r is not None and r > best:
                best = r
        return best

    def __contains__(self, name: object) -> bool:
        return name in self._ranks

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataClasses) and other._names == self._names

    def __hash__(self) -> int:
        return hash(self._names)

    def __repr__(self) -> str:
        return f"DataClasses({list(self._names)!r})"
