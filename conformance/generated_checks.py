"""The two generated-case checks every operation with schemathesis cases gets, declared once.

A family's `checks/<endpoint>/generated.py` calls `declare(globals(), ...)`: its module then holds
the exchanges `<operation>_generated_negative` / `_positive` (conformance.plan) and the checks
`<operation>.generated.rejects-invalid` and `<operation>.generated.schema-conformance`, as if
written there: same module, so the builders get that family's model.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from conformance import generated, plan
from conformance.check import Level, check, observe
from conformance.config import Config
from conformance.generated import NEGATIVE, POSITIVE, Operation, RecordedCases, Sent
from conformance.target import Target

Judge = Callable[[Operation, list[Sent], Config], None]

REJECTS_INVALID = (
    "Every schema-invalid request (wrong type, out of range, unknown enum value, missing "
    "required field) MUST get a 4xx with the error envelope: never a 2xx, never a 5xx.")
SCHEMA_CONFORMANCE = (
    "Valid generated requests MUST be answered: never a 5xx, a 4xx only with the error envelope "
    "and never for every one of them, and every 2xx answer MUST match the response schema (each "
    "streamed chunk or event the schema of its kind).")


def declare(namespace: dict[str, Any], operation: Operation, op_id: str, *, fix_invalid: str,
            fix_valid: str) -> None:
    """Put the generated exchanges and checks of `operation` into a check module's `namespace`
    (its `globals()`); the check ids start with `operation.name`, `op_id` is the operationId,
    the fixes tell the vendor what to change when each check fails."""
    module = namespace["__name__"]
    source = f"schemathesis cases generated from openapi/{operation.document} " \
             f"({operation.request_schema})"
    for mode in (NEGATIVE, POSITIVE):
        builder = _builder(operation, mode, module)
        namespace[builder.__name__] = plan.exchange(builder)
    for name, mode, judge, requirement, observes, fix in (
            ("rejects-invalid", NEGATIVE, generated.judge_negative, REJECTS_INVALID,
             "the answers to schema-invalid generated requests", fix_invalid),
            ("schema-conformance", POSITIVE, generated.judge_positive, SCHEMA_CONFORMANCE,
             "the answers to valid generated requests", fix_valid)):
        function = _check_function(operation, mode, judge, module, requirement)
        namespace[function.__name__] = check(
            f"{operation.name}.generated.{name}", level=Level.MUST, feature="generated",
            operation=op_id, observes=observes, spec=operation.spec, source=source,
            fix=fix)(function)


def _builder(operation: Operation, mode: str, module: str) -> Callable[..., Any]:
    def build(model: str, config: Config) -> list[Any]:
        return generated.requests(operation, mode, config, model)
    build.__name__ = build.__qualname__ = _fixture(operation, mode)
    build.__module__ = module
    build.__doc__ = f"{operation.name}: the {mode} schemathesis cases, one request each."
    return build


def _check_function(operation: Operation, mode: str, judge: Judge, module: str,
                    requirement: str) -> Callable[..., None]:
    fixture = _fixture(operation, mode)

    def judged(conformance: Target, **recorded: RecordedCases) -> None:
        cases = recorded[fixture]
        observe(f"generated {'invalid' if mode == NEGATIVE else 'valid'} requests", len(cases))
        judge(operation, generated.sent(cases), conformance.config)

    name = "test_rejects_invalid" if mode == NEGATIVE else "test_schema_conformance"
    judged.__name__ = judged.__qualname__ = name
    judged.__module__ = module
    judged.__doc__ = requirement
    # pytest reads the fixtures a test needs from its signature.
    judged.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter(fixture, inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("conformance", inspect.Parameter.POSITIONAL_OR_KEYWORD)])
    return judged


def _fixture(operation: Operation, mode: str) -> str:
    return f"{operation.name}_generated_{mode}"
