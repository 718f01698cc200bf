"""The catalogue as data: every operation's declared examples parse, the bounds shown are the
ones the parser applies, and the OpenAPI document and /docs are built from it, offline."""

import re
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

from runner.engine import places
from runner.engine.draw import COLOUR_SYNTAX
from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_json, parse_query
from runner.engine.ops.written import query_string, stored_query
from service.domain.edit_controls import describe_language
from service.http.app import create_app
from service.kernel.errors import InvalidParameter
from service.kernel.settings import Settings

SETTINGS = Settings(max_output_side=3000)
LIMITS = Limits.from_settings(SETTINGS)
OPERATIONS = [op for kind in MediaKind for op in catalogue().operations(kind)]


def parse(kind: MediaKind, query: str) -> list[Operation]:
    items = parse_qsl(query, keep_blank_values=True)
    return parse_query(catalogue(), kind, items, limits=LIMITS)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.kind}-{op.name}")
def test_every_operations_example_parses(operation: type[Operation]) -> None:
    (parsed,) = parse(operation.kind, operation.example)
    assert isinstance(parsed, operation)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.kind}-{op.name}")
def test_every_parameters_example_parses(operation: type[Operation]) -> None:
    own, *modifiers = operation.parameters
    assert own.name == operation.name
    parse(operation.kind, f"{operation.name}={own.example}")
    for modifier in modifiers:
        value = "webp" if modifier.name == "quality" else own.example  # quality: lossy only
        parse(operation.kind, f"{operation.name}={value}&{modifier.name}={modifier.example}")


def described(kind: str, name: str) -> dict[str, Any]:
    operations = describe_language(LIMITS)["operations"]
    return next(op for op in operations if (op["kind"], op["name"]) == (kind, name))


def test_stills_say_that_image_operations_follow_them(document: dict[str, Any]) -> None:
    for name in ("thumbnail", "frames"):
        assert (described("video", name)["produces"], described("video", name)["terminal"]) == (
            "image", False,
        )  # fmt: skip
    assert described("video", "trim")["produces"] is None
    parameters = {p["name"]: p for p in document["paths"]["/edit"]["post"]["parameters"]}
    assert "the parameters after it are image operations" in parameters["thumbnail"]["description"]
    (still, resize) = parse(MediaKind.VIDEO, "frames=best:3&resize=200x")
    assert (still.kind, resize.kind) == (MediaKind.VIDEO, MediaKind.IMAGE)


def test_a_video_format_may_be_left_to_its_codecs() -> None:
    assert described("video", "format")["parameters"][0]["default"] is None
    (operation,) = parse(MediaKind.VIDEO, "vcodec=vp9")
    assert operation.as_json() == {
        "op": "format",
        "container": None,
        "vcodec": "vp9",
        "acodec": None,
    }
    assert parse_json(catalogue(), MediaKind.VIDEO, [operation.as_json()], limits=LIMITS) == [
        operation
    ]
    with pytest.raises(InvalidParameter):
        parse_json(catalogue(), MediaKind.VIDEO, [{"op": "format"}], limits=LIMITS)


def test_the_shown_bounds_are_the_configured_ones() -> None:
    resize = described("image", "resize")["parameters"]
    assert [p["name"] for p in resize] == [
        "resize", "fit", "upscale", "gravity", "background", "dpr",
    ]  # fmt: skip
    assert resize[0] | {"description": ""} == {
        "name": "resize", "type": "size", "required": True, "minimum": 1, "maximum": 3000,
        "description": "", "example": "800x600",
    }  # fmt: skip
    assert resize[1]["choices"] == ["contain", "cover", "fill", "pad"]
    assert resize[1]["default"] == "contain"
    assert parse(MediaKind.IMAGE, "resize=3000x")[0].as_json()["width"] == 3000
    with pytest.raises(InvalidParameter, match="each 1 to 3000"):
        parse(MediaKind.IMAGE, "resize=3001x")


def test_a_bound_declared_once_holds_for_query_and_json() -> None:
    (size,) = [p for p in described("image", "text")["parameters"] if p["name"] == "text_size"]
    assert (size["minimum"], size["maximum"]) == (4, 2000)
    with pytest.raises(InvalidParameter, match="an integer from 4 to 2000"):
        parse(MediaKind.IMAGE, "text=hi&text_size=3")
    with pytest.raises(InvalidParameter) as caught:
        parse_json(catalogue(), MediaKind.IMAGE, [{"op": "text", "text": "hi", "size_px": 3}],
                   limits=LIMITS)  # fmt: skip
    assert caught.value.parameter == "ops[0].size_px"


# Every colour parameter: its operation's query, and the operation as JSON less the field
# (named last) that holds the colour.
COLOURS = [
    (MediaKind.IMAGE, "pad=4&pad_color=", {"op": "pad", "top": 4, "right": 4, "bottom": 4,
                                           "left": 4}, "color"),
    (MediaKind.IMAGE, "text=hi&text_color=", {"op": "text", "text": "hi"}, "color"),
    (MediaKind.VIDEO, "text=hi&text_color=", {"op": "text", "text": "hi"}, "color"),
    (MediaKind.IMAGE, "resize=8x6&fit=pad&background=", {"op": "resize", "width": 8,
                                                          "height": 6}, "background"),
]  # fmt: skip


def test_every_colour_parameter_is_in_colours() -> None:
    declared = {
        (op.kind, op.name, param.name)
        for op in OPERATIONS for param in op.parameters if param.type == "colour"
    }  # fmt: skip
    listed = {(kind, query.split("=")[0], query.split("&")[-1][:-1]) for kind, query, *_ in COLOURS}
    assert declared == listed


@pytest.mark.parametrize(("kind", "query", "document", "field"), COLOURS)
def test_every_colour_is_refused_in_the_same_words(
    kind: MediaKind, query: str, document: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidParameter) as in_a_query:
        parse(kind, f"{query}blurple")
    assert (in_a_query.value.problem, in_a_query.value.accepted) == ("not a colour", COLOUR_SYNTAX)
    with pytest.raises(InvalidParameter) as as_json:
        parse_json(catalogue(), kind, [{**document, field: "blurple"}], limits=LIMITS)
    assert as_json.value.problem == f"not a colour; accepted: {COLOUR_SYNTAX}"
    (kept,) = parse(kind, f"{query}%23ff000080")
    assert kept.as_json()[field] == "#ff000080"


def test_an_overlays_scale_and_opacity_are_the_same_for_either_kind() -> None:
    image, video = (
        {param["name"]: param for param in described(kind, "overlay")["parameters"]}
        for kind in ("image", "video")
    )
    assert image["overlay_opacity"] == video["overlay_opacity"]
    scale = video["overlay_scale"]
    in_the_image = scale["description"].replace("the picture's", "the image's")
    assert image["overlay_scale"] == {**scale, "description": in_the_image}


def test_a_list_describes_its_items() -> None:
    (color,) = described("image", "color")["parameters"]
    assert color["type"] == "list"
    effect, factor = color["items"]
    assert "sepia" in effect["choices"]
    assert (factor["minimum"], factor["maximum"]) == (0, 5)


def test_the_controls_are_described() -> None:
    controls = {c["name"]: c for c in describe_language(LIMITS)["controls"]}
    assert list(controls) == ["media", "session", "wait", "priority", "fresh"]
    assert (controls["wait"]["minimum"], controls["wait"]["maximum"]) == (0, 60)
    assert controls["priority"]["type"] == "integer"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(
        create_app(SETTINGS), base_url=SETTINGS.base_url
    )  # no lifespan: nothing here needs the database


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").json()
    return body


def test_post_edit_documents_every_operation_and_modifier(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in document["paths"]["/edit"]["post"]["parameters"]}
    for operation in OPERATIONS:
        for parameter in operation.parameters:
            shown = parameters[parameter.name]
            assert shown["in"] == "query"
            assert parameter.description in shown["description"]
            assert shown["example"] is not None
    for control in ("media", "session", "wait", "priority"):
        assert parameters[control]["description"]
    assert parameters["fit"]["schema"]["enum"] == ["contain", "cover", "fill", "pad"]


@pytest.mark.parametrize(
    ("kind", "operation", "name"),
    [("image", "text", "text_position"), ("video", "text", "text_position"),
     ("image", "overlay", "overlay_gravity"), ("video", "overlay", "overlay_gravity")],
)  # fmt: skip
def test_a_place_is_shown_as_one_grammar_and_its_schema_takes_points(
    document: dict[str, Any], kind: str, operation: str, name: str
) -> None:
    """Every place parameter is a `place`, image or video: its nine positions as choices (what
    the editor offers), the compass words as their aliases, and the syntax with x:y points in
    its description; the OpenAPI document's schema has no enum, which would refuse a point."""
    (place,) = (p for p in described(kind, operation)["parameters"] if p["name"] == name)
    assert (place["type"], place["choices"]) == ("place", list(places.POSITIONS))
    assert place["aliases"]["ne"] == "top-right" and places.SYNTAX in place["description"]
    parameters = {p["name"]: p for p in document["paths"]["/edit"]["post"]["parameters"]}
    assert parameters[name]["schema"]["type"] == "string"
    assert "enum" not in parameters[name]["schema"] and "x:y" in parameters[name]["description"]
    assert parameters[name]["schema"]["maxLength"] == places.MAX_LENGTH


def test_workflow_routes_document_their_grammar(document: dict[str, Any]) -> None:
    create = {p["name"] for p in document["paths"]["/workflows"]["post"]["parameters"]}
    assert {"name", "kind", "resize", "trim", "quality"} <= create
    run = document["paths"]["/workflows/{workflow_id}/run"]["post"]["parameters"]
    assert all(p.get("description") for p in run if p["in"] == "query")
    assert {p["name"] for p in run if p["in"] == "query"} == {"media", "wait", "priority", "fresh"}


def test_a_batch_run_documents_leaving_out_what_the_workflow_does_not_fit(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    unfit = schemas["RunBatchIn"]["properties"]["unfit"]
    assert (unfit["enum"], unfit["default"]) == (["refuse", "leave_out"], "refuse")
    assert schemas["RunBatchIn"]["examples"][0]["unfit"] == "leave_out"
    assert schemas["BatchOut"]["properties"]["left_out"]["items"] == {
        "$ref": "#/components/schemas/LeftOutOut"
    }
    (example,) = schemas["LeftOutOut"]["examples"]
    assert set(example["error"]) == set(schemas["Refusal"]["required"])
    assert example["error"]["value"] == example["media"]
    # Every media left out: a 422 listing them as a run's answer does, each refusal with its
    # problem alone (a client's own sentence says it).
    assert schemas["ErrorBody"]["properties"]["left_out"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/LeftOutOut"
    }
    assert "$defs" not in schemas["ErrorBody"]
    assert "problem" in schemas["Refusal"]["required"]
    assert "problem" in schemas["ErrorBody"]["properties"]


def test_errors_are_documented_as_editrooms_error_body(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"detail", "error", "parameter", "value", "accepted"} <= set(
        schemas["ErrorBody"]["properties"]
    )
    # A media a session's step made, not deleted: the session that holds it, named.
    assert {"session_id", "session_step", "session_media_id"} <= set(
        schemas["ErrorBody"]["properties"]
    )
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path in document["paths"].values():
        for operation in path.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == error_ref


def test_uploads_declare_their_bodies(document: dict[str, Any]) -> None:
    upload = document["paths"]["/bucket/upload"]["post"]["requestBody"]["content"]
    field = upload["multipart/form-data"]["schema"]["properties"]["file"]
    assert field["format"] == "binary"
    assert "application/octet-stream" in upload
    put = document["paths"]["/bucket/upload/{media_id}/data"]["put"]["requestBody"]
    assert "application/octet-stream" in put["content"]


def test_every_response_field_is_described(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field}"


def test_edits_and_steps_say_whether_retry_may_help(document: dict[str, Any]) -> None:
    """One rule, documented where a client reads an edit or a step, and on the retry route."""
    schemas = document["components"]["schemas"]
    for name in ("EditOut", "StepOut"):
        assert {"retryable", "fails_alike"} <= set(schemas[name]["required"]), name
        retryable = schemas[name]["properties"]["retryable"]
        assert retryable["type"] == "boolean"
        for case in ("POST /edit/{id}/retry", "cancelled", "last allowed trial", "fails_alike"):
            assert case in retryable["description"], (name, case)
    step = schemas["StepOut"]
    assert {"trial", "max_trials", "abandoned"} <= set(step["required"])
    refused = document["paths"]["/edit/{edit_id}/retry"]["post"]["responses"]["409"]
    assert "retryable" in refused["description"]


def test_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text)
    assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert len(assets) >= 2
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in client.get("/docs/start.js").text


def round_trip(kind: MediaKind, query: str) -> str:
    """The query parsed, written back, and that parsed again: the same operations."""
    operations = parse(kind, query)
    written = query_string(operations)
    assert parse(kind, written) == operations, written
    return written


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.kind}-{op.name}")
def test_every_operation_is_written_back_as_it_reads(operation: type[Operation]) -> None:
    round_trip(operation.kind, operation.example)
    own, *modifiers = operation.parameters
    for modifier in modifiers:  # each modifier away from its default, written and read back
        value = "webp" if modifier.name == "quality" else own.example
        query = f"{operation.name}={value}&{modifier.name}={modifier.example}"
        assert f"{modifier.name}=" in round_trip(operation.kind, query)


@pytest.mark.parametrize(
    ("kind", "query", "written"),
    [
        (MediaKind.IMAGE, "crop=80,60,160,120", "crop=80,60,160,120"),
        (MediaKind.VIDEO, "trim=0,1&accurate=true", "trim=0,1"),
        (MediaKind.VIDEO, "trim=00:01:02.5", "trim=62.5"),
        (MediaKind.IMAGE, "resize=800x&fit=contain&upscale=false", "resize=800x"),
        (MediaKind.IMAGE, "resize=x6&upscale=true&rotate=-12.50",
         "resize=x6&upscale=true&rotate=-12.5"),
        (MediaKind.IMAGE, "headshot=0.4&headshot=1.5", "headshot&headshot=1.5"),
        (MediaKind.IMAGE, "color=brightness:1.20,sepia", "color=brightness:1.2,sepia"),
        (MediaKind.IMAGE, "text=a+%26+b%231&text_color=white", "text=a%20%26%20b%231"),
        (MediaKind.IMAGE, "text=Hi&text_color=%23ffcc00", "text=Hi&text_color=ffcc00"),
        (MediaKind.IMAGE, "fit=cover&resize=8x6&format=png", "resize=8x6&fit=cover&format=png"),
        (MediaKind.IMAGE, "resize=8x6&fit=pad&background=%23FFF", "resize=8x6&fit=pad"),
        (MediaKind.IMAGE, "pad=4&pad_color=%23000", "pad=4&pad_color=000000"),
        (MediaKind.VIDEO, "text_from=1&text=Hi&text_color=WHITE", "text=Hi&text_from=1"),
        (MediaKind.VIDEO, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_to=2",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_to=2"),
        # A place is written by the compass or by its position, image or video: one edit.
        (MediaKind.IMAGE, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=Top-Left",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=nw"),
        (MediaKind.IMAGE, "resize=8x6&fit=cover&gravity=bottom", "resize=8x6&fit=cover&gravity=s"),
        (MediaKind.IMAGE, "text=Hi&text_position=NE", "text=Hi&text_position=top-right"),
        (MediaKind.VIDEO, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=sw",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=bottom-left"),
        (MediaKind.VIDEO, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=se",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e"),
        (MediaKind.VIDEO, "text=Hi&text_position=n", "text=Hi&text_position=top"),
        # A point is a place: written as its shortest decimals, or as the place it names.
        (MediaKind.IMAGE, "text=Hi&text_position=0.50:%20.9", "text=Hi&text_position=0.5:0.9"),
        (MediaKind.IMAGE, "text=Hi&text_position=1:0", "text=Hi&text_position=top-right"),
        (MediaKind.IMAGE, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=1:0",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=ne"),
        (MediaKind.VIDEO, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=.1:.85",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=0.1:0.85"),
        (MediaKind.VIDEO, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=1:1",
         "overlay=0f8fad5b-d9cb-469f-a165-70867728950e"),
        (MediaKind.VIDEO, "text=Hi&text_position=0.5:0.5", "text=Hi&text_position=center"),
        (MediaKind.VIDEO, "text=Hi&text_position=0.00001:1", "text=Hi&text_position=0.00001:1"),
    ],
)  # fmt: skip
def test_operations_are_written_in_the_edit_language(
    kind: MediaKind, query: str, written: str
) -> None:
    assert round_trip(kind, query) == written


@pytest.mark.parametrize(
    ("kind", "operation", "written", "kept"),
    [
        (MediaKind.IMAGE, {"op": "overlay", "gravity": "top-right"}, "gravity", "ne"),
        (MediaKind.IMAGE, {"op": "text", "text": "Hi", "position": "w"}, "position", "left"),
        (MediaKind.VIDEO, {"op": "overlay", "gravity": "NW"}, "gravity", "top-left"),
        (MediaKind.VIDEO, {"op": "text", "text": "Hi", "position": "e"}, "position", "right"),
        (MediaKind.VIDEO, {"op": "text", "text": "Hi", "position": "0.25:0.750"}, "position",
         "0.25:0.75"),
        (MediaKind.IMAGE, {"op": "overlay", "gravity": "0:1"}, "gravity", "sw"),
    ],
)  # fmt: skip
def test_a_place_in_json_is_written_either_way_and_kept_as_its_kind_writes_it(
    kind: MediaKind, operation: dict[str, Any], written: str, kept: str
) -> None:
    if operation["op"] == "overlay":
        operation = {**operation, "media": "0f8fad5b-d9cb-469f-a165-70867728950e"}
    (parsed,) = parse_json(catalogue(), kind, [operation], limits=LIMITS)
    assert parsed.as_json()[written] == kept


@pytest.mark.parametrize("bad", ["2:0.5", "x:y", "nan:1", "foo", "0.5:-0.1", "0.5"])
@pytest.mark.parametrize(
    ("kind", "query"),
    [(MediaKind.IMAGE, "text=Hi&text_position="), (MediaKind.VIDEO, "text=Hi&text_position="),
     (MediaKind.IMAGE, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity="),
     (MediaKind.VIDEO, "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=")],
)  # fmt: skip
def test_a_place_refused_names_its_parameter_and_the_one_syntax(
    kind: MediaKind, query: str, bad: str
) -> None:
    """Out of range, not numbers, not a place: refused in the same words, image or video,
    naming both spellings of the nine places and the points."""
    with pytest.raises(InvalidParameter) as refused:
        parse(kind, query + bad)
    assert refused.value.parameter == query.rsplit("&", 1)[1].removesuffix("=")
    accepted = refused.value.accepted
    assert accepted == places.SYNTAX
    assert "top-left" in accepted and "nw" in accepted and "x:y" in accepted


@pytest.mark.parametrize(
    "query",
    ["text=Hi&text_position=", "resize=100x&fit=cover&gravity=",
     "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity="],
)  # fmt: skip
def test_a_place_longer_than_its_bound_is_refused_on_every_path(query: str) -> None:
    """One bound for every place, by query and by JSON alike (a resize's gravity was held to
    24 characters as JSON only), shown by GET /operations."""
    name = query.rsplit("&", 1)[1].removesuffix("=")
    longest = "0.1" + "0" * (places.MAX_LENGTH - 5) + ":1"
    assert len(longest) == places.MAX_LENGTH
    assert parse(MediaKind.IMAGE, query + longest)  # a point in many decimals, within the bound
    with pytest.raises(InvalidParameter, match="longer than"):
        parse(MediaKind.IMAGE, query + longest + "0")
    (operation,) = parse(MediaKind.IMAGE, query + "0.25:0.5")
    document = operation.as_json()
    (field,) = [key for key, value in document.items() if value == "0.25:0.5"]
    too_long = {**document, field: "0.25" + "0" * places.MAX_LENGTH + ":0.5"}
    with pytest.raises(InvalidParameter, match=r"longer than|at most"):
        parse_json(catalogue(), MediaKind.IMAGE, [too_long], limits=LIMITS)
    op_name = {"text_position": "text", "gravity": "resize", "overlay_gravity": "overlay"}[name]
    shown = {p["name"]: p for p in described("image", op_name)["parameters"]}
    assert shown[name]["maxLength"] == places.MAX_LENGTH


def test_kept_operations_are_written_as_the_kind_that_reads_them() -> None:
    video = [op.as_json() for op in parse(MediaKind.VIDEO, "format=webm&vcodec=vp9")]
    assert stored_query(video) == "format=webm&vcodec=vp9"
    image = [op.as_json() for op in parse(MediaKind.IMAGE, "format=jpeg&quality=70")]
    assert stored_query(image) == "format=jpeg&quality=70"
    assert stored_query([{"op": "import", "url": "https://example.org/v"}]) is None


def test_operations_that_name_other_media_say_of_which_kind() -> None:
    """A client offers the right media to choose from: images to lay over, videos to append."""
    assert described("image", "overlay")["reads"] == "image"
    assert described("video", "overlay")["reads"] == "image"
    assert described("video", "concat")["reads"] == "video"
    assert described("image", "crop")["reads"] is None
