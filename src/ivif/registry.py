"""One Registry class for methods, metrics, registration methods and datasets (timm/pyiqa style).

    from ivif.registry import METHODS
    @METHODS.register("densefuse", aliases=("dense_fuse",), tags=("deep", "autoencoder"), paper="...")
    class DenseFuse(FusionMethod): ...

    ivif.create_method("densefuse", strategy="l1")
    ivif.list_methods("*fuse*")

Third-party packages register by declaring an entry point in the groups ``ivif.methods`` or
``ivif.metrics`` (``ivif.registration``); the entry point's target is imported on first lookup, and
importing it runs its ``@register`` decorators (or, if the target is a callable taking the registry, it
is called with it).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import RegistryError


@dataclass
class Entry:
    """A registered object with its metadata."""

    name: str
    obj: Any
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Name -> object mapping with aliases, tags, metadata, glob listing and entry-point plugins."""

    def __init__(self, kind: str, entry_point_group: str | None = None, builtin_modules: Iterable[str] = ()):
        self.kind = kind
        self.group = entry_point_group
        self._builtin = tuple(builtin_modules)
        self._entries: dict[str, Entry] = {}
        self._alias: dict[str, str] = {}
        self._loaded = False

    # -------------------------------------------------------------------------------- registration
    def register(
        self,
        name: str,
        obj: Any = None,
        *,
        aliases: Iterable[str] = (),
        tags: Iterable[str] = (),
        description: str = "",
        override: bool = False,
        **metadata: Any,
    ):
        """Register ``obj`` under ``name`` (lower-cased); usable as ``@registry.register(name, ...)``.

        ``description`` defaults to the first line of the object's docstring.
        """

        def deco(o: Any) -> Any:
            key = name.lower()
            if not override and (key in self._entries or key in self._alias):
                raise RegistryError(f"{self.kind} {key!r} is already registered")
            desc = description or ((getattr(o, "__doc__", None) or "").strip().splitlines() or [""])[0]
            entry = Entry(key, o, tuple(a.lower() for a in aliases), tuple(tags), desc, dict(metadata))
            self._entries[key] = entry
            for a in entry.aliases:
                self._alias[a] = key
            return o

        return deco(obj) if obj is not None else deco

    def unregister(self, name: str) -> None:
        """Remove a registration (tests and plugins that replace a built-in)."""
        e = self._entries.pop(self._key(name))
        for a in e.aliases:
            self._alias.pop(a, None)

    # ------------------------------------------------------------------------------------- lookup
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        import importlib

        for mod in self._builtin:
            importlib.import_module(mod)
        if self.group:
            from importlib.metadata import entry_points

            for ep in entry_points(group=self.group):
                try:
                    target = ep.load()
                except Exception as exc:  # a broken plugin must not break ivif
                    import warnings

                    warnings.warn(f"ivif: could not load {self.group} plugin {ep.name!r}: {exc}", stacklevel=2)
                    continue
                if callable(target) and not isinstance(target, type) and getattr(target, "__ivif_plugin__", False):
                    target(self)

    def _key(self, name: str) -> str:
        k = name.lower()
        return self._alias.get(k, k)

    def get_entry(self, name: str) -> Entry:
        """The :class:`Entry` for ``name`` or an alias; :class:`RegistryError` lists close names."""
        self._load()
        key = self._key(name)
        if key not in self._entries:
            import difflib

            close = difflib.get_close_matches(key, list(self._entries) + list(self._alias), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; see `ivif list {self.kind}s`"
            raise RegistryError(f"unknown {self.kind} {name!r}{hint}")
        return self._entries[key]

    def get(self, name: str) -> Any:
        """The registered object (class or function) for ``name``."""
        return self.get_entry(name).obj

    def create(self, name: str, **cfg: Any) -> Any:
        """Instantiate/call the registered object with ``cfg``."""
        return self.get(name)(**cfg)

    def __contains__(self, name: str) -> bool:
        self._load()
        return self._key(name) in self._entries

    def list(self, pattern: str = "*", tags: Iterable[str] = ()) -> list[str]:
        """Sorted names matching a glob ``pattern`` (case-insensitive) and carrying all ``tags``."""
        self._load()
        pat = pattern.lower()
        want = set(tags)
        return sorted(
            n
            for n, e in self._entries.items()
            if fnmatch.fnmatchcase(n, pat) and want.issubset(e.tags)
        )

    def entries(self, pattern: str = "*") -> list[Entry]:
        """Entries for :meth:`list` in the same order."""
        return [self._entries[n] for n in self.list(pattern)]


def plugin(fn: Callable[[Registry], None]) -> Callable[[Registry], None]:
    """Mark a function as an entry-point plugin that receives the registry to register into."""
    fn.__ivif_plugin__ = True  # type: ignore[attr-defined]
    return fn


METHODS = Registry("method", "ivif.methods", ("ivif.methods.classical", "ivif.methods.deep"))
METRICS = Registry("metric", "ivif.metrics", ("ivif.metrics.builtin",))
REGISTRATION = Registry("registration", "ivif.registration", ("ivif.registration.methods",))
DATASETS = Registry("dataset", None, ("ivif.data.layouts",))


def create_method(name: str, **cfg: Any):
    """Create a fusion method by registered name, e.g. ``create_method("densefuse", strategy="l1")``."""
    return METHODS.create(name, **cfg)


def list_methods(pattern: str = "*", tags: Iterable[str] = ()) -> list[str]:
    """Names of registered fusion methods matching a glob pattern and tags."""
    return METHODS.list(pattern, tags)


def create_metric(name: str, **cfg: Any):
    """Create a metric by registered name, e.g. ``create_metric("qabf", profile="vifb")``."""
    return METRICS.create(name, **cfg)


def list_metrics(pattern: str = "*", tags: Iterable[str] = ()) -> list[str]:
    """Names of registered metrics matching a glob pattern and tags."""
    return METRICS.list(pattern, tags)
