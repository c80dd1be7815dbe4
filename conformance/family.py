"""API families: what the engine knows of an API it judges, declared by the family itself.

A family (OpenAI's Chat and Responses, Anthropic Messages, ...) is one package under
`conformance/apis/` whose `FAMILY` is listed in `conformance.apis.FAMILIES`. The engine reads
everything family-specific from that record (endpoints, OpenAPI documents, how a key is sent,
the default model and the environment variables that name models and keys) and names no
family itself.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.check import REGISTRY, Check

if TYPE_CHECKING:
    from conformance.gateway.surface import GatewaySurface

# Where the families live: the root of every check run (pytest's rootdir).
APIS_DIR = Path(__file__).resolve().parent / "apis"


# The path every family's requests sit under unless it says otherwise: the base URL a user
# gives (the openai SDK's convention) ends with it.
V1 = "/v1"


@dataclass(frozen=True)
class Endpoint:
    """One operation a family's checks judge: check ids start with `id` (`chat.stream.…`)."""

    id: str
    method: str
    path: str  # below the family's prefix (`/v1`: the base URL itself)
    prefix: str = V1

    @property
    def title(self) -> str:
        return f"{self.method} {self.prefix}{self.path}"


@dataclass(frozen=True)
class Auth:
    """How a request carries the API key: `header: scheme key` (`scheme` "" sends the bare key),
    plus any header the family requires on every request (`anthropic-version`)."""

    header: str
    scheme: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    # A query parameter the API also takes the key in (`?key=`; "": none): a request sent with
    # `key_in="query"` carries it there instead of in `header`.
    query: str = ""

    def headers(self, key: str | None) -> dict[str, str]:
        found = dict(self.extra)
        if key:
            found[self.header] = f"{self.scheme} {key}" if self.scheme else key
        return found

    def placeholder(self, variable: str) -> str:
        """The key header of a `curl` line, the key read from the shell's `$variable`."""
        value = f"${variable}"
        return f"{self.header}: {self.scheme} {value}" if self.scheme else \
            f"{self.header}: {value}"


@dataclass(frozen=True)
class ApiFamily:
    """One family of LLM APIs, as its package declares it."""

    name: str  # "openai": `--model openai=…` and results' `api`
    title: str
    package: str  # the Python package the family's code lives in
    endpoints: tuple[Endpoint, ...]
    documents: tuple[str, ...]  # its OpenAPI documents in openapi/
    auth: Auth
    default_model: str
    model_env: str  # the variable naming the model under test
    key_env: str  # the variable holding the API key, as the family's official SDK reads it
    # The module whose `SURFACE` (`conformance.gateway.surface.GatewaySurface`) plugs the family
    # into the reference gateway; imported by the gateway only ("": not served there).
    gateway: str = ""
    # The tokens (input, output) an answer reports, read from its JSON payloads: the body, or
    # each event of a stream in order (what the run cost; None: counted as 0).
    reported_tokens: Callable[[Sequence[Any]], tuple[int, int]] | None = None

    @property
    def prefix(self) -> str:
        """The path the family's requests sit under (its endpoints': `/v1`, Gemini `/v1beta`)."""
        return self.endpoints[0].prefix

    @property
    def checks_package(self) -> str:
        return f"{self.package}.checks"

    def tagged(self, request: Any) -> Any:
        """`request` (a `conformance.http.Request`) as this family's, unless it names one."""
        return request if request.family else dataclasses.replace(request, family=self.name)


@functools.cache
def families() -> tuple[ApiFamily, ...]:
    """Every registered family (`conformance.apis.FAMILIES`), imported on first use."""
    return importlib.import_module("conformance.apis").FAMILIES


def target_url(base_url: str, prefix: str, path: str) -> str:
    """The URL of `path` under `prefix` at a target whose base URL ends in `/v1` (a base URL
    without it is taken as that `/v1`): `prefix` replaces that last segment."""
    root = base_url.rstrip("/")
    if prefix != V1:
        root = root.removesuffix(V1) + prefix
    return f"{root}/{path.lstrip('/')}"


def family(name: str) -> ApiFamily:
    found = {f.name: f for f in families()}
    if name not in found:
        raise KeyError(f"unknown API family {name!r}; known: {', '.join(found)}")
    return found[name]


def family_of_module(module: str) -> ApiFamily | None:
    """The family whose package holds `module` (None: an engine module)."""
    return next((f for f in families()
                 if module == f.package or module.startswith(f.package + ".")), None)


def endpoints() -> Mapping[str, Endpoint]:
    """Every family's endpoints by id (the first part of a check id)."""
    return {e.id: e for f in families() for e in f.endpoints}


def family_of_endpoint(endpoint_id: str) -> ApiFamily:
    return next(f for f in families() if any(e.id == endpoint_id for e in f.endpoints))


def gateway_surfaces() -> tuple[GatewaySurface, ...]:
    """Every served family's `GatewaySurface`, in registration order (the order the gateway
    falls back on, `conformance.gateway.surface.owner`)."""
    return tuple(importlib.import_module(f.gateway).SURFACE for f in families() if f.gateway)


def documents() -> tuple[str, ...]:
    return tuple(d for f in families() for d in f.documents)


def check_dirs() -> tuple[Path, ...]:
    """Each family's checks folder: what a run of the checks collects."""
    return tuple(Path(importlib.import_module(f.checks_package).__file__).resolve().parent
                 for f in families())


def in_checks(path: Path) -> bool:
    """True for a path inside (or at) a family's checks folder."""
    return any(path == d or d in path.parents for d in check_dirs())


def load_checks() -> dict[str, Check]:
    """Import every check module of every family, so that the registry is complete; returns it
    (id -> Check)."""
    for f in families():
        package = importlib.import_module(f.checks_package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    return REGISTRY


def selected(check_id: str, select: Sequence[str]) -> bool:
    """True when `--select` keeps the check: no glob keeps every check."""
    return not select or any(fnmatch.fnmatchcase(check_id, glob) for glob in select)
