"""The OpenAPI document, finished from the edit language's catalogue: the routes that read
the query grammar of /edit list every operation and modifier as a described query parameter,
and every error response is the body editroom really answers with (ErrorBody)."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from runner.engine.ops.base import Limits
from service.domain import workflows
from service.domain.edit_controls import describe_language
from service.domain.idempotency import REPLAYED_HEADER
from service.http.schemas import ErrorBody

GRAMMAR = "x-editroom-query"  # a route's openapi_extra names which query grammar it reads
EDIT_QUERY = {GRAMMAR: "edit"}  # POST /edit: media or session, wait, priority, operations
WORKFLOW_QUERY = {GRAMMAR: "workflow"}  # POST/PUT /workflows: name, kind, operations
RUN_QUERY = {GRAMMAR: "run"}  # POST /workflows/{id}/run: media, wait, priority, fresh
# A route's parameters it does not take but a client may bring from another route, each with
# where it belongs: {name: words}. Said by the refusal of that parameter (deps.check_query);
# no part of the document.
ELSEWHERE = "x-editroom-elsewhere"
# A route whose path holds operations of the edit language (a result's address): its words for
# one of them given in its query string instead, a template of {name}, {role} ("an operation",
# "a modifier of resize") and {path} (the path with it added). No part of the document either.
IN_THE_PATH = "x-editroom-operations-in-path"
# The grammars whose parser refuses unknown and repeated parameters itself (operations may
# repeat); every other route's query is checked against what it declares (deps.check_query).
SELF_CHECKED = frozenset({"edit", "workflow"})
_RUN_CONTROLS = ("media", "wait", "priority", "fresh")
# A refusal of an event stream past its limit, and the header that says when to come back.
STREAMS_BUSY = (
    "EDITROOM_MAX_EVENT_STREAMS event streams are open (the body's `limit`): try again after "
    "Retry-After"
)
RETRY_AFTER_HEADER_DOC = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
}
# The answer header of a retried request (service/domain/idempotency.py).
REPLAYED_HEADER_DOC = {
    REPLAYED_HEADER: {
        "description": "true: an earlier request with this Idempotency-Key made this edit "
        "(or these edits); the answer is the edit as it is now. Absent otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_BYTES = {"type": "string", "format": "binary"}
RAW_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes as they are.",
        "content": {"application/octet-stream": {"schema": _BYTES}},
    }
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The image or video: a multipart field `file`, or the raw bytes as the "
        "body (name it with ?filename=).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {**_BYTES, "description": "The image or video"}},
                }
            },
            "application/octet-stream": {"schema": _BYTES},
        },
    }
}  # fmt: skip
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")

Schema = dict[str, Any]


def openapi(app: FastAPI, limits: Limits) -> Callable[[], Schema]:
    """What app.openapi becomes: the document, made once, with the configured limits."""

    def document() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = _finished(_generated(app), describe_language(limits), limits)
        return app.openapi_schema

    return document


def _generated(app: FastAPI) -> Schema:
    return get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version,
        summary=app.summary, description=app.description, routes=app.routes,
    )  # fmt: skip


def _finished(schema: Schema, language: Schema, limits: Limits) -> Schema:
    grammars = {
        "edit": [*language["controls"], *_operations(language["operations"])],
        "workflow": [
            *(control.described(limits) for control in workflows.CONTROLS),
            *_operations(language["operations"]),
        ],
        "run": [c for c in language["controls"] if c["name"] in _RUN_CONTROLS],
    }
    operation_ids: set[str] = set()
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if operation.get("operationId") in operation_ids:
                operation["operationId"] += f"_{method}"
            operation_ids.add(operation.get("operationId"))
            grammar = operation.pop(GRAMMAR, None)
            operation.pop(ELSEWHERE, None)
            operation.pop(IN_THE_PATH, None)
            if grammar is not None:
                _add_parameters(operation, [_parameter(p) for p in grammars[grammar]])
            _error_bodies(operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        components.pop(name, None)
    error_body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    # The models it names (a batch's left_out) are components of their own, as every model is,
    # not definitions nested in it.
    for name, model in error_body.pop("$defs", {}).items():
        components.setdefault(name, model)
    components["ErrorBody"] = error_body
    return schema


def _operations(operations: list[Schema]) -> list[Schema]:
    """One query parameter per name: `format` and `resize` exist for images and videos, so
    their description says what each kind takes."""
    merged: dict[str, Schema] = {}
    for operation in operations:
        for position, parameter in enumerate(operation["parameters"]):
            role = "value" if position == 0 else f"modifier of {operation['name']}"
            text = (
                f"**{operation['kind']} {operation['name']}** ({role}): "
                f"{parameter['description']}{_bounds_text(parameter)}"
            )
            if position == 0:
                text += f" Syntax: `{operation['syntax']}`. Example: `{operation['example']}`."
                if operation["produces"]:
                    text += (
                        f" Its results are {operation['produces']}s: the parameters after it "
                        f"are {operation['produces']} operations, run on each."
                    )
            seen = merged.get(parameter["name"])
            if seen is None:
                merged[parameter["name"]] = {**parameter, "required": False, "description": text}
            else:
                seen["description"] += "\n\n" + text
                if seen.get("choices") != parameter.get("choices"):
                    seen["choices"] = sorted(
                        {*seen.get("choices", []), *parameter.get("choices", [])}
                    )
                if "aliases" in parameter:
                    seen["aliases"] = {**seen.get("aliases", {}), **parameter["aliases"]}
    return list(merged.values())


def _bounds_text(parameter: Schema) -> str:
    """The bounds a string-typed schema cannot carry (a size's sides, a box's parts)."""
    texts = [
        f"{label} {parameter[key]}" for key, label in
        (("minimum", "at least"), ("maximum", "at most"), ("maxLength", "at most"))
        if key in parameter
    ]  # fmt: skip
    parts: list[Schema] = parameter.get("parts") or parameter.get("items") or []
    texts.extend(f"{part['name']}{_bounds_text(part)}" for part in parts)
    return f" ({'; '.join(texts)})" if texts else ""


def _parameter(parameter: Schema) -> Schema:
    return {
        "name": parameter["name"],
        "in": "query",
        "required": bool(parameter.get("required")),
        "description": parameter["description"],
        "schema": _schema(parameter),
        "example": parameter["example"],
    }


def _schema(parameter: Schema) -> Schema:
    kind = parameter["type"]
    if kind in ("integer", "number"):
        schema: Schema = {"type": kind}
        schema.update({k: parameter[k] for k in ("minimum", "maximum") if k in parameter})
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "choice":
        # A choice's other names (the compass's `ne` for `top-right`) are accepted too.
        schema = {"type": "string", "enum": [*parameter["choices"], *parameter.get("aliases", {})]}
    elif kind == "place":
        # Named places and x:y points (runner.engine.places): no enum could list them all.
        schema = {"type": "string", "maxLength": parameter["maxLength"]}
    elif kind == "uuid":
        schema = {"type": "string", "format": "uuid"}
    else:
        schema = {"type": "string"}
        if kind == "text" and "maxLength" in parameter:
            schema["maxLength"] = parameter["maxLength"]
    if parameter.get("default") is not None:
        schema["default"] = parameter["default"]
    return schema


def _add_parameters(operation: Schema, added: list[Schema]) -> None:
    """The catalogue's parameters, replacing any FastAPI generated under the same name."""
    names = {parameter["name"] for parameter in added}
    kept = [
        p for p in operation.get("parameters", []) if p["name"] not in names or p["in"] != "query"
    ]
    operation["parameters"] = [*kept, *added]


def _error_bodies(operation: Schema) -> None:
    """Every 4xx and 5xx answers with ErrorBody, FastAPI's own 422 included."""
    for status, response in operation.get("responses", {}).items():
        if status[0] in "45":
            response["content"] = {"application/json": {"schema": ERROR_REF}}
