"""The targets file: several gateways (or models) to run the suite against, one TOML table each.

    [targets.acme-eu]
    base_url = "https://gateway.acme.example/v1"   # absent: the embedded reference gateway
    api_key_env = "ACME_API_KEY"                   # or { openai = "...", anthropic = "..." }
    models = { openai = "gpt-4o-mini" }            # per API family
    headers = { "X-Route" = "eu-west", "X-Gateway-Token" = { env = "ACME_TOKEN" } }
    expectations = "expectations/acme-eu.toml"     # relative to this file
    endpoints = ["chat", "responses"]
    tokenizer = "o200k_base"

The file names the environment variable that holds each secret, never the secret: a key, or a
header whose name says it carries a credential, is read from the environment when the target
runs, so the file can live in the repository beside the CI workflow.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import matrix
from conformance.config import ConfigError, parse_endpoints, parse_tokenizer
from conformance.family import families
from conformance.redact import is_credential_header
from conformance.reporting import DEFAULT_ROOT
from conformance.results import EXIT_SIGNAL

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a directory name and a CI matrix value
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYS = ("base_url", "api_key_env", "models", "headers", "expectations", "endpoints",
        "tokenizer")
# What the file says for every target it runs: these flags would contradict it.
FROM_FILE = {"base_url": "--base-url", "api_key": "--api-key", "model": "--model",
             "header": "--header", "endpoints": "--endpoints", "tokenizer": "--tokenizer",
             "expectations": "--expectations"}


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str | None
    key_env: tuple[tuple[str, str], ...]  # (API family, environment variable holding its key)
    models: tuple[tuple[str, str], ...]
    # (name, value, True when the value is the environment variable to read it from)
    headers: tuple[tuple[str, str, bool], ...]
    expectations: Path | None
    endpoints: tuple[str, ...]
    tokenizer: str | None

    def flags(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """The run's flags for this target, its secrets read from `environ` (in memory only:
        the run hands keys to the checks by environment, never in arguments)."""
        return {
            "base_url": self.base_url,
            "api_key": [f"{api}={_env(environ, var, self.name)}" for api, var in self.key_env],
            "model": [f"{api}={model}" for api, model in self.models],
            "header": [f"{name}: {_env(environ, value, self.name) if from_env else value}"
                       for name, value, from_env in self.headers],
            "endpoints": ",".join(self.endpoints) or None,
            "tokenizer": self.tokenizer,
            "expectations": str(self.expectations) if self.expectations else None,
            "target_name": self.name,
        }


def _env(environ: Mapping[str, str], variable: str, target: str) -> str:
    value = environ.get(variable, "").strip()
    if not value:
        raise ConfigError(f"target {target!r}: the environment variable {variable} is not set")
    return value


def load(path: Path) -> dict[str, Target]:
    """Every target of the file, in its order; any mistake is a ConfigError naming its place."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    extra = set(data) - {"targets"}
    if extra:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}; "
                          "targets go under [targets.NAME]")
    tables = data.get("targets")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no targets (add a [targets.NAME] table)")
    return {name: _target(name, table, path) for name, table in tables.items()}


def _target(name: str, table: Any, path: Path) -> Target:
    where = f"{path}: [targets.{name}]"
    if not NAME.fullmatch(name):
        raise ConfigError(f"{where}: a target name is letters, digits, '.', '_' or '-'")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(table) - set(KEYS)
    if unknown:
        hint = (" (the file names the environment variable holding a key: api_key_env)"
                if any("key" in k for k in unknown) else "")
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(KEYS)}{hint}")
    try:
        return Target(
            name=name,
            base_url=_optional_str(table, "base_url"),
            key_env=_key_env(table.get("api_key_env")),
            models=_per_family(table.get("models", {}), "models"),
            headers=_headers(table.get("headers", {})),
            expectations=_relative(path, _optional_str(table, "expectations")),
            endpoints=parse_endpoints(_str_list(table.get("endpoints", []))),
            tokenizer=parse_tokenizer(_optional_str(table, "tokenizer"), {})[0],
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _optional_str(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{key} must be a non-empty string")
    return value


def _str_list(value: Any) -> list[str]:
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ConfigError("endpoints must be a list of endpoint ids, e.g. [\"chat\"]")
    return value


def _variable(value: Any, key: str) -> str:
    if not (isinstance(value, str) and VARIABLE.fullmatch(value)):
        raise ConfigError(f"{key} names an environment variable (e.g. ACME_API_KEY), never the "
                          "secret itself")
    return value


def _key_env(value: Any) -> tuple[tuple[str, str], ...]:
    """One variable for every family (as `--api-key KEY`), or one per family."""
    if value is None:
        return ()
    if isinstance(value, str):
        return ((families()[0].name, _variable(value, "api_key_env")),)
    return tuple((api, _variable(var, f"api_key_env.{api}"))
                 for api, var in _per_family(value, "api_key_env", raw=True))


def _per_family(value: Any, key: str, raw: bool = False) -> tuple[tuple[str, Any], ...]:
    names = [f.name for f in families()]
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table by API family, e.g. {{ {names[0]} = \"...\" }}")
    unknown = [api for api in value if api not in names]
    if unknown:
        raise ConfigError(f"{key}: unknown API famil(y/ies) {', '.join(unknown)}; "
                          f"known: {', '.join(names)}")
    if not raw and not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise ConfigError(f"{key}: each value must be a non-empty string")
    return tuple(value.items())


def _headers(value: Any) -> tuple[tuple[str, str, bool], ...]:
    """Headers by name: a plain value, or `{ env = "VARIABLE" }`; a header whose name says it
    carries a credential must come from the environment."""
    if not isinstance(value, dict):
        raise ConfigError("headers must be a table of header name = value")
    found = []
    for name, given in value.items():
        if isinstance(given, dict) and set(given) == {"env"}:
            found.append((name, _variable(given["env"], f"headers.{name}.env"), True))
        elif isinstance(given, str) and not is_credential_header(name):
            found.append((name, given, False))
        elif isinstance(given, str):
            raise ConfigError(f"headers.{name} carries a credential: name the environment "
                              f"variable that holds it, {name!r} = {{ env = \"VARIABLE\" }}")
        else:
            raise ConfigError(f"headers.{name} must be a string or {{ env = \"VARIABLE\" }}")
    return tuple(found)


def _relative(config: Path, value: str | None) -> Path | None:
    return None if value is None else config.parent / value


def run(args: argparse.Namespace, run_one: Callable[[argparse.Namespace], int]) -> int:
    """`conformance run --config FILE [--target NAME]`: each chosen target in turn into
    OUTPUT/<name>/ (OUTPUT: --output, default reports/), then, for a run of every target, the
    matrix of them all into OUTPUT. Exits with the worst target's code."""
    if not args.config:
        raise ConfigError("--target needs --config FILE")
    given = [flag for attr, flag in FROM_FILE.items() if getattr(args, attr, None)]
    if given:
        raise ConfigError(f"--config: {', '.join(given)} come(s) from the targets file")
    targets = load(Path(args.config))
    if args.target and args.target not in targets:
        raise ConfigError(f"--target {args.target!r}: not in {args.config} (targets: "
                          f"{', '.join(targets)})")
    chosen = [targets[args.target]] if args.target else list(targets.values())
    root = Path(args.output) if args.output else DEFAULT_ROOT
    # Every target's secrets first: a missing one stops the whole run before anything is sent.
    runs = [{**vars(args), **t.flags(os.environ), "output": str(root / t.name), "config": None}
            for t in chosen]
    codes = []
    for flags in runs:
        codes.append(run_one(argparse.Namespace(**flags)))
        if codes[-1] in EXIT_SIGNAL.values():  # interrupted: the other targets do not start
            break
    ran = [root / t.name for t in chosen if (root / t.name / "results.json").is_file()]
    if not args.target and ran:
        page, _ = matrix.write(ran, root)
        print(f"conformance: matrix of {len(ran)} runs: {page}")
    return max(codes)
