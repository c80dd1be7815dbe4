"""The one frozen configuration object of a run.

Config flows one way: CLI flags or pytest options, then the environment, then defaults.
Secrets come only from flags or the environment and are never written out.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.family import ApiFamily, endpoints, families, family
from conformance.redact import is_credential_header
from conformance.tokens import ENCODINGS

if TYPE_CHECKING:
    from conformance.expectations import Expectations

DEFAULT_TIMEOUT = 60.0
# A response past this is cut (the suite asks for short answers); bounds memory per request.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# Requests in flight at once: a full run waits on its longest chain, not on its request count.
DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_TIME = 1800.0  # seconds: nothing is sent after this, however the gateway behaves
DEFAULT_CASES = 8  # schema-generated cases per operation and mode: a nightly run stays cheap
DEFAULT_SEED = 20261122
# Every run is recorded here unless told otherwise (`--history PATH`, `--no-history`).
DEFAULT_HISTORY = Path("reports") / "history.sqlite"


class ConfigError(ValueError):
    """Bad usage or configuration (exit code 2)."""


@dataclass(frozen=True)
class Config:
    base_url: str | None
    # Per API family (its name first): the key, and the model under test (`--api-key`, `--model`
    # as `[FAMILY=]VALUE`, else each family's own environment variables, else its default).
    api_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    models: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    output: Path | None = None
    select: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    concurrency: int = DEFAULT_CONCURRENCY
    max_time: float = DEFAULT_MAX_TIME
    cases: int = DEFAULT_CASES
    seed: int = DEFAULT_SEED
    # Endpoints the gateway claims to serve (`--endpoints chat,responses`): one that turns out
    # absent is a failure. Empty: every endpoint that answers is judged, absent ones are noted.
    endpoints: tuple[str, ...] = ()
    # The encoding to count tokens with (`--tokenizer`), for a model alias the name table does
    # not know; None: from the model name (conformance.tokens.encoding_for answers for the run).
    tokenizer: str | None = None
    tokenizer_origin: str = ""  # "--tokenizer" or "CONFORMANCE_TOKENIZER": the report says why
    # The history database the run is recorded in (conformance.history); None: not recorded.
    history: Path | None = None
    # The target's known deviations (`--expectations FILE`): they mark each result expected,
    # unexpected or stale and set the exit code, never the verdict (conformance.expectations).
    expectations: Expectations | None = None
    strict_expectations: bool = False  # a stale expectation fails the run (exit 5)
    # The target's name in a targets file (`--config`, conformance.targets): the matrix's label.
    target_name: str | None = None

    def model_for(self, name: str) -> str:
        return dict(self.models).get(name) or family(name).default_model

    def key_for(self, name: str) -> str | None:
        return dict(self.api_keys).get(name)

    @property
    def model(self) -> str:
        """The first family's model under test: the one a report names in its header."""
        return self.model_for(families()[0].name)

    @property
    def api_key(self) -> str | None:
        """The first family's key (the embedded gateway takes it for every family)."""
        return self.key_for(families()[0].name)

    def family_of(self, request: Any) -> ApiFamily:
        """The API family a request belongs to (the first one when it names none)."""
        return family(request.family) if request.family else families()[0]

    @property
    def embedded(self) -> bool:
        """True when no target was given: the run starts the embedded reference gateway."""
        return self.base_url is None

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in any output."""
        # A `--header` value is a secret when its name says it carries a credential; a routing
        # header (`X-Route: eu-west`) is not, and must stay readable in the `curl` line.
        values = [key for _, key in self.api_keys] + [
            value for name, value in self.headers if is_credential_header(name)]
        return tuple(v for v in values if len(v) >= 4)

    def with_target(self, base_url: str, api_key: str | None) -> Config:
        """The same run pointed at a concrete target (used for the embedded gateway, whose one
        key serves every family)."""
        keys = tuple((f.name, api_key) for f in families()) if api_key else ()
        return dataclasses.replace(self, base_url=base_url, api_keys=keys)

    def claims(self, endpoint: str) -> bool:
        """True when the user said the gateway serves this endpoint (its id prefix, e.g. chat)."""
        return endpoint in self.endpoints


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ConfigError(f"--header must look like 'Name: value', got {text.split(':')[0]!r}")
    return name.strip(), value.strip()


def normalize_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url must start with http:// or https://, got {url!r}")
    return url


def build_config(
    *,
    base_url: str | None = None,
    api_key: Sequence[str] | str | None = None,
    model: Sequence[str] | str | None = None,
    headers: Sequence[str] = (),
    output: str | os.PathLike[str] | None = None,
    select: Sequence[str] = (),
    timeout: float | None = None,
    cases: int | None = None,
    seed: int | None = None,
    endpoints: Sequence[str] | str | None = None,
    concurrency: int | None = None,
    max_time: float | None = None,
    tokenizer: str | None = None,
    history: str | os.PathLike[str] | None = None,
    no_history: bool = False,
    expectations: str | os.PathLike[str] | None = None,
    strict_expectations: bool = False,
    target_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Flags win over the environment (OPENAI_BASE_URL, each family's key and model variables,
    CONFORMANCE_TOKENIZER, CONFORMANCE_HISTORY). `model` and `api_key`: values `[FAMILY=]VALUE`,
    one per family (no FAMILY: the first family); a family given no key uses the first
    family's."""
    env = os.environ if environ is None else environ
    base = base_url or env.get("OPENAI_BASE_URL") or None
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    cases = DEFAULT_CASES if cases is None else int(cases)
    if cases < 0:
        raise ConfigError("--cases must be 0 (no generated cases) or more")
    concurrency = DEFAULT_CONCURRENCY if concurrency is None else int(concurrency)
    if concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    max_time = DEFAULT_MAX_TIME if max_time is None else float(max_time)
    if not math.isfinite(max_time) or max_time <= 0:
        raise ConfigError("--max-time must be a positive number of seconds")
    tokenizer_name, tokenizer_origin = parse_tokenizer(tokenizer, env)
    return Config(
        base_url=normalize_base_url(base) if base else None,
        api_keys=_shared_key(_per_family(parse_assignments(api_key, "--api-key"), env,
                                         "key_env")),
        models=_per_family(parse_assignments(model, "--model"), env, "model_env"),
        headers=tuple(parse_header(h) for h in headers),
        output=Path(output) if output else None,
        select=tuple(select),
        timeout=timeout,
        cases=cases,
        seed=DEFAULT_SEED if seed is None else int(seed),
        endpoints=parse_endpoints(endpoints),
        concurrency=concurrency,
        max_time=max_time,
        tokenizer=tokenizer_name,
        tokenizer_origin=tokenizer_origin,
        history=None if no_history else Path(
            history or env.get("CONFORMANCE_HISTORY") or DEFAULT_HISTORY),
        expectations=load_expectations(expectations, strict_expectations),
        strict_expectations=strict_expectations,
        target_name=target_name,
    )


def load_expectations(path: str | os.PathLike[str] | None, strict: bool) -> Expectations | None:
    """The expectations file, read and validated before anything is sent."""
    from conformance import expectations  # it reports its problems as ConfigError

    if path is None:
        if strict:
            raise ConfigError("--strict-expectations needs --expectations FILE")
        return None
    return expectations.load(path)


def parse_assignments(values: Sequence[str] | str | None, flag: str) -> dict[str, str]:
    """`[FAMILY=]VALUE` flags as {family name: value}; no FAMILY= means the first family (a
    value may hold "=" when what precedes it is no family's name)."""
    names = [f.name for f in families()]
    found: dict[str, str] = {}
    for text in [values] if isinstance(values, str) else list(values or ()):
        name, sep, value = text.partition("=")
        if not (sep and name.strip() in names):
            name, value = names[0], text
        name, value = name.strip(), value.strip()
        if not value:
            raise ConfigError(f"{flag}: empty value for {name!r}")
        if name in found and found[name] != value:
            raise ConfigError(f"{flag}: two values for {name!r}")
        found[name] = value
    return found


def _per_family(given: Mapping[str, str], env: Mapping[str, str],
                variable: str) -> tuple[tuple[str, str], ...]:
    """Each family's value: given by a flag, else its environment variable (None: neither)."""
    chosen = ((f.name, given.get(f.name) or env.get(getattr(f, variable)) or "")
              for f in families())
    return tuple((name, value) for name, value in chosen if value)


def _shared_key(keys: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Each family's key, the first family's for a family given none: a gateway commonly
    takes one key on every API it serves (the key of a family's own variable wins)."""
    found = dict(keys)
    first = found.get(families()[0].name)
    return tuple((f.name, found.get(f.name) or first) for f in families()
                 if found.get(f.name) or first)


def parse_tokenizer(flag: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """`--tokenizer`, else CONFORMANCE_TOKENIZER: one of the encodings counted offline, and
    where it came from (None, "": none named, the model name decides)."""
    origin = "--tokenizer" if flag else "CONFORMANCE_TOKENIZER"
    name = (flag or env.get("CONFORMANCE_TOKENIZER") or "").strip()
    if not name:
        return None, ""
    if name not in ENCODINGS:
        raise ConfigError(f"{origin}: unknown tokenizer {name!r}; known: {', '.join(ENCODINGS)}")
    return name, origin


def parse_endpoints(value: Sequence[str] | str | None) -> tuple[str, ...]:
    """`chat,responses` (or a list of such) as endpoint ids, each one the suite knows."""
    items = [value] if isinstance(value, str) else list(value or ())
    names = tuple(dict.fromkeys(n.strip() for item in items for n in item.split(",")
                                if n.strip()))
    known = endpoints()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"--endpoints: unknown endpoint(s) {', '.join(unknown)}; "
                          f"known: {', '.join(known)}")
    return names
