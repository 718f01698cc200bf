"""How image operations are written in a query string and as JSON, and how a bad value is
refused: always naming the parameter and saying what is accepted."""

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from runner.engine.image.color import Color, ColorStep
from runner.engine.image.crop import Crop
from runner.engine.image.flip import Flip
from runner.engine.image.format import Format
from runner.engine.image.headshot import Headshot
from runner.engine.image.opacity import Opacity
from runner.engine.image.resize import Resize
from runner.engine.image.rotate import Rotate
from runner.engine.image.text import Text
from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_json, parse_query
from service.kernel.errors import InvalidParameter
from service.kernel.settings import Settings
from tests.unit.image.pictures import LIMITS


def parse(query: str, limits: Limits = LIMITS) -> list[Operation]:
    items = parse_qsl(query, keep_blank_values=True)
    return parse_query(catalogue(), MediaKind.IMAGE, items, limits=limits)


def refused(query: str, limits: Limits = LIMITS) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        parse(query, limits)
    return caught.value


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("crop=1,2,30,40", Crop(x=1, y=2, width=30, height=40)),
        ("resize=800x600", Resize(width=800, height=600)),
        ("resize=800x&upscale=true", Resize(width=800, upscale=True)),
        ("fit=cover&resize=x600", Resize(height=600, fit="cover")),
        ("rotate=-12.5", Rotate(degrees=-12.5)),
        ("flip=H", Flip(axis="h")),
        ("opacity=0.25", Opacity(opacity=0.25)),
        (
            "color=brightness:1.2, contrast:0.9,saturation:0,grayscale,sepia,invert",
            Color(
                steps=(
                    ColorStep(effect="brightness", factor=1.2),
                    ColorStep(effect="contrast", factor=0.9),
                    ColorStep(effect="saturation", factor=0),
                    ColorStep(effect="grayscale"),
                    ColorStep(effect="sepia"),
                    ColorStep(effect="invert"),
                )
            ),
        ),
        ("text=Hi+there", Text(text="Hi there")),
        (
            "text=x&text_size=40&text_color=%23f00&text_position=top-left",
            Text(text="x", size_px=40, color="#ff0000ff", position="top-left"),
        ),
        ("text=x&text_color=ff000080", Text(text="x", color="#ff000080")),
        ("text=x&text_color=RebeccaPurple", Text(text="x", color="#663399ff")),
        ("headshot", Headshot()),
        ("headshot=0.1", Headshot(padding=0.1)),
        ("format=webp&quality=60", Format(format="webp", quality=60)),
        ("format=PNG", Format(format="png")),
    ],
)
def test_each_operation_reads_its_query_form(query: str, expected: Operation) -> None:
    assert parse(query) == [expected]


def test_json_round_trips_every_operation() -> None:
    query = (
        "crop=0,0,10,10&resize=5x&fit=fill&rotate=90&flip=v&opacity=0.5&color=sepia,contrast:2"
        "&text=Hi&text_color=navy&headshot=0.2&format=jpeg&quality=70"
    )
    operations = parse(query)
    document = [operation.as_json() for operation in operations]
    assert parse_json(catalogue(), MediaKind.IMAGE, document, limits=LIMITS) == operations


@pytest.mark.parametrize(
    ("query", "parameter", "accepted"),
    [
        ("crop=1,2,3", "crop", "crop=x,y,w,h"),
        ("crop=1,2,3,zero", "crop", "height: an integer from 1 to 3000"),
        ("crop=-1,0,3,3", "crop", "x: an integer of at least 0"),
        ("resize=big", "resize", "WxH, Wx or xH"),
        ("resize=10x10&fit=stretch", "fit", "contain | cover | fill"),
        ("resize=10x10&upscale=maybe", "upscale", "true | false"),
        ("rotate=quarter", "rotate", "a number from -360 to 360"),
        ("rotate=720", "rotate", "a number from -360 to 360"),
        ("flip=diagonal", "flip", "h | v"),
        ("opacity=1.5", "opacity", "a number from 0 to 1"),
        ("color=", "color", "brightness:F"),
        ("color=blur", "color", "brightness | contrast | saturation | grayscale | sepia"),
        ("color=brightness", "color", "brightness:F"),
        ("color=sepia:2", "color", "brightness:F"),
        ("color=contrast:9", "color", "a number from 0 to 5"),
        ("color=" + ",".join(["invert"] * 13), "color", "at most 12"),
        ("text=", "text", "1 to 1000 characters"),
        ("text=%20%20", "text", "1 to 1000 characters"),
        ("text=" + "a" * 1001, "text", "1 to 1000 characters"),
        ("text=x&text_size=2", "text_size", "an integer from 4 to 2000"),
        ("text=x&text_color=%23ff000", "text_color", "#rgb, #rgba, #rrggbb, #rrggbbaa"),
        ("text=x&text_color=blurple", "text_color", "CSS colour name"),
        ("text=x&text_position=middle", "text_position", "top-left, top, top-right"),
        ("text=x&text_position=2:0.5", "text_position", "x:y (fractions 0..1"),
        ("headshot=lots", "headshot", "a number from 0 to 3"),
        ("format=bmp", "format", "jpeg | png | webp | avif | gif | tiff"),
        ("format=jpeg&quality=0", "quality", "an integer from 1 to 100"),
        ("format=png&quality=80", "quality", "format=jpeg|webp|avif"),
        ("flip=h&quality=80", "quality", "format=..."),
        ("vignette=2", "vignette", "blur | color | crop | flip | format | headshot"),
    ],
)
def test_a_bad_value_names_the_parameter_and_what_is_accepted(
    query: str, parameter: str, accepted: str
) -> None:
    error = refused(query)
    assert error.parameter == parameter
    assert accepted in error.accepted


def test_json_values_are_validated_like_query_values() -> None:
    bad = [
        {"op": "crop", "x": -1, "y": 0, "width": 5, "height": 5},
        {"op": "resize"},
        {"op": "opacity", "opacity": 2},
        {"op": "color", "steps": [{"effect": "sepia", "factor": 1}]},
        {"op": "text", "text": "x", "color": "not-a-colour"},
        {"op": "format", "format": "gif", "quality": 50},
        {"op": "rotate", "degrees": float("nan")},
    ]
    for document in bad:
        with pytest.raises(InvalidParameter, match=r"ops\[0\]"):
            parse_json(catalogue(), MediaKind.IMAGE, [document], limits=LIMITS)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("resize=3001x", "resize"), ("resize=x3001&fit=cover", "resize"), ("crop=0,0,3001,5", "crop")],
)
def test_written_sizes_beyond_the_output_limit_are_refused(query: str, parameter: str) -> None:
    error = refused(query)
    assert error.parameter == parameter
    assert "to 3000" in error.accepted  # EDITROOM_MAX_OUTPUT_SIDE here, not a wider bound


def test_format_is_given_once() -> None:
    error = refused("format=png&flip=h&format=webp")
    assert (error.parameter, error.accepted) == ("format", "one format per edit")


def test_format_is_given_once_an_edit() -> None:
    error = refused("format=png&flip=h&format=gif")
    assert (error.parameter, error.accepted) == ("format", "one format per edit")


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        (
            "crop=1,2,x,4",
            "crop='1,2,x,4': the width 'x' is not an integer; "
            "accepted: width: an integer from 1 to 3000",
        ),
        (
            "crop=1,2,3,0",
            "crop='1,2,3,0': the height '0' is out of range; "
            "accepted: height: an integer from 1 to 3000",
        ),
        (
            "color=brightness:9",
            "color='brightness:9': the brightness '9' is out of range; "
            "accepted: brightness: a number from 0 to 5",
        ),
        (
            "color=sepia,contrast:x",
            "color='sepia,contrast:x': the contrast 'x' is not a number; "
            "accepted: contrast: a number from 0 to 5",
        ),
    ],
)
def test_a_refused_part_shows_the_whole_value_and_names_the_part(query: str, detail: str) -> None:
    """A value made of parts is shown whole, as given, and the part at fault is named: the
    value of crop=1,2,x,4 is not 'x', and 'x' alone does not say it is the width."""
    error = refused(query)
    assert str(error) == detail
    assert error.value == query.partition("=")[2]


def test_an_edit_without_operations_shows_its_value_as_empty() -> None:
    error = refused("")
    assert (error.parameter, error.value) == ("operations", "(empty)")


def test_a_resize_refusal_states_the_configured_limit() -> None:
    """Not the grammar's own wider bound: what EDITROOM_MAX_OUTPUT_SIDE lets through."""
    for query in ("resize=big", "resize=0x", "resize=20000x", "resize=2000000x"):
        assert refused(query).accepted == "WxH, Wx or xH in pixels, each 1 to 3000", query


def test_echoed_values_and_names_are_cut_at_200_characters() -> None:
    text = refused("text=" + "a" * 5000)
    assert text.value == "a" * 200 + "…"
    unknown = refused("b" * 305 + "=1")
    assert unknown.parameter == "b" * 200 + "…"
    assert str(unknown).startswith("b" * 200 + "…='1': unknown parameter")


def test_the_readmes_example_of_a_refusal_is_true() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    written = readme.partition("JSON body naming what was wrong: `")[2].partition("`.")[0]
    example = json.loads(" ".join(written.split("\n")))
    limits = Limits.from_settings(Settings())  # the defaults the README's tables give
    error = refused("crop=" + example["value"], limits)
    assert example == {"detail": str(error), "error": type(error).__name__, **error.details()}
