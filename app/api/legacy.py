"""The original system's routes and request forms, kept so integrations written for it keep working.

Each answers what our own route answers, plus the keys the original sent (`success`, `timestamp`, ...), with the
same checks: a token is required, roles apply, bad input gets 422. They are marked deprecated in /docs; the README
maps each to its current route."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

LEGACY = "deprecated: the original system's form, kept for its clients; see the README's route map"


def stamped(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` with the original's `success` and `timestamp` where it has none."""
    return {**answer, "success": answer.get("success", True),
            "timestamp": answer.get("timestamp") or datetime.now(UTC).isoformat()}


def from_either_form(model: type[M], raw: dict[str, Any], query: dict[str, str | None]) -> M:
    """The request in either form: ours (the whole body), or the original's (fields in the query, body = data).
    Bad input is a 422 in both, with the same checks."""
    given = {key: value for key, value in query.items() if value is not None}
    try:
        return model.model_validate({**given, "data": raw} if given else raw)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        for problem in problems:  # where the caller put it, as FastAPI's own checks say
            loc = tuple(problem["loc"])
            if given and loc and loc[0] in given:
                problem["loc"] = ("query", *loc)
            elif given and loc and loc[0] == "data":
                problem["loc"] = ("body", *loc[1:])
            else:
                problem["loc"] = ("body", *loc)
        raise RequestValidationError(problems) from None


def both_forms(model: type[BaseModel]) -> dict[str, Any]:
    """Document the body of both forms in /docs."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [model.model_json_schema(), {"type": "object", "description": "the data, in the original form"}]}}}}}
