"""The query-string and JSON forms of an edit, with made-up operations."""

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Self

import pytest

from runner.engine.ops import grammar, language
from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.catalogue import Catalogue
from runner.engine.ops.language import parse_json, parse_query, result_kind
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

Mode = Literal["fast", "good"]
FACTOR = Param(
    name="scale", type="number", minimum=0.01, maximum=10, description="factor", example="2"
)
MODE = Param(
    name="mode", type="choice", choices=("fast", "good"), default="good", description="how",
    example="fast",
)  # fmt: skip


class Scale(Operation):
    op: Literal["scale"] = "scale"
    name: ClassVar[str] = "scale"
    kind: ClassVar[MediaKind] = MediaKind.IMAGE
    syntax: ClassVar[str] = "scale=FACTOR, with mode=fast|good"
    parameters: ClassVar[tuple[Param, ...]] = (FACTOR, MODE)
    factor: float = FACTOR.field()
    mode: Mode = MODE.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(factor=FACTOR.read(value), mode=MODE.modifier(modifiers))


class Mirror(Operation):
    op: Literal["mirror"] = "mirror"
    name: ClassVar[str] = "mirror"
    kind: ClassVar[MediaKind] = MediaKind.IMAGE
    syntax: ClassVar[str] = "mirror"

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls()


class Cut(Operation):
    op: Literal["cut"] = "cut"
    name: ClassVar[str] = "cut"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "cut=SECONDS"
    at: float

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(at=grammar.seconds("cut", value))


class Snapshot(Operation):
    op: Literal["snapshot"] = "snapshot"
    name: ClassVar[str] = "snapshot"
    kind: ClassVar[MediaKind] = MediaKind.IMAGE
    syntax: ClassVar[str] = "snapshot"
    terminal: ClassVar[bool] = True

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls()

    def check_limits(self, limits: Limits) -> None:
        if limits.max_output_side < 100:
            raise InvalidParameter("snapshot", "", "needs 100 px", accepted="a larger limit")


class Still(Operation):
    """A video operation whose result is an image."""

    op: Literal["still"] = "still"
    name: ClassVar[str] = "still"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "still"
    produces: ClassVar[MediaKind | None] = MediaKind.IMAGE

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls()


WRAPPER = Param(
    name="wrap", type="choice", choices=("box", "bag"), default=None, description="w",
    example="box",
)  # fmt: skip
CODEC = Param(
    name="codec", type="choice", choices=("a", "b"), default=None, description="c", example="a"
)


class Wrap(Operation):
    """A video operation its modifier alone may bring in (as vcodec brings in format)."""

    op: Literal["wrap"] = "wrap"
    name: ClassVar[str] = "wrap"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "wrap=box|bag, with codec=a|b"
    once: ClassVar[bool] = True
    implied: ClassVar[bool] = True
    parameters: ClassVar[tuple[Param, ...]] = (WRAPPER, CODEC)
    wrapper: str | None = WRAPPER.field()
    codec: str | None = CODEC.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(wrapper=WRAPPER.read(value), codec=CODEC.modifier(modifiers))

    @classmethod
    def from_modifiers(cls, modifiers: Mapping[str, str]) -> Self:
        return cls(codec=CODEC.modifier(modifiers))


CATALOGUE = Catalogue([Scale, Mirror, Cut, Snapshot, Still, Wrap])
VIDEO = MediaKind.VIDEO
IMAGE = MediaKind.IMAGE
LIMITS = Limits(max_pixels=10**6, max_output_side=1000, max_video_seconds=60, max_operations=5)


def parse(query: list[tuple[str, str]], kind: MediaKind = IMAGE) -> list[Operation]:
    return parse_query(CATALOGUE, kind, query, limits=LIMITS)


def refused(query: list[tuple[str, str]], kind: MediaKind = IMAGE) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        parse(query, kind)
    return caught.value


def test_operations_keep_their_order() -> None:
    ops = parse([("mirror", ""), ("scale", "2"), ("mirror", "")])
    assert [op.name for op in ops] == ["mirror", "scale", "mirror"]


def test_a_modifier_refines_the_nearest_operation_before_it() -> None:
    ops = parse([("scale", "2"), ("scale", "3"), ("mode", "fast")])
    assert [(op.factor, op.mode) for op in ops if isinstance(op, Scale)] == [
        (2, "good"),
        (3, "fast"),
    ]


def test_a_modifier_before_its_operation_refines_the_first_after_it() -> None:
    (op,) = parse([("mode", "fast"), ("scale", "2")])
    assert isinstance(op, Scale)
    assert op.mode == "fast"


def test_a_modifier_without_its_operation_is_refused() -> None:
    error = refused([("mirror", ""), ("mode", "fast")])
    assert error.parameter == "mode"
    assert "refines scale, which is not in this edit" in str(error)


def test_a_modifier_given_twice_for_one_operation_is_refused() -> None:
    assert "given twice" in str(refused([("scale", "2"), ("mode", "fast"), ("mode", "good")]))


def test_unknown_parameters_are_named_with_what_is_accepted() -> None:
    error = refused([("sharpen", "3")])
    assert (error.parameter, error.value) == ("sharpen", "3")
    assert error.accepted == "mirror | scale | snapshot"


def test_an_unknown_parameter_also_lists_the_routes_other_parameters() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_query(CATALOGUE, IMAGE, [("wiat", "5")], limits=LIMITS, controls=("media", "wait"))
    assert caught.value.accepted == "an operation (mirror | scale | snapshot) or media | wait"


def test_an_operation_of_the_other_kind_says_so() -> None:
    error = refused([("cut", "3")], IMAGE)
    assert "applies to video media, and this media is an image" in str(error)
    error = refused([("scale", "2")], VIDEO)
    assert "applies to image media, and this media is a video" in str(error)


def test_bad_values_name_parameter_value_and_range() -> None:
    error = refused([("scale", "99")])
    assert error.details() == {
        "parameter": "scale",
        "value": "99",
        "problem": "out of range",
        "accepted": "a number from 0.01 to 10",
    }


def test_operation_count_is_bounded() -> None:
    assert "no operation given" in str(refused([]))
    assert "at most 5" in str(refused([("mirror", "")] * 6))


def test_too_many_operations_are_refused_before_their_modifiers_are_attached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attaching a modifier looks at the operations before it: thousands of operations with a
    modifier each cost their square (3,000 resize=1x&fit=fill: 0.26 s) before the count was
    checked. Refused now as the query is split: nothing is attached, whatever its length."""
    attached: list[int] = []
    attach = language._attach  # the step whose work grows with the square

    def counted(*args: Any) -> list[dict[str, str]]:
        attached.append(len(args[2]))  # the operations it was handed
        return attach(*args)

    monkeypatch.setattr(language, "_attach", counted)
    assert len(parse([("scale", "2"), ("mode", "fast")] * 5)) == 5
    assert attached == [5]  # at the limit: attached once, its operations no more than it
    for repeats in (6, 3_000):
        error = refused([("scale", "2"), ("mode", "fast")] * repeats)
        assert (error.parameter, error.value) == ("operations", str(repeats))
        assert (error.problem, error.accepted) == ("too many operations", "at most 5")
    assert attached == [5]


def test_operations_a_modifier_alone_brings_in_count_towards_the_limit() -> None:
    error = refused([("cut", "1")] * 5 + [("codec", "a")], VIDEO)
    assert (error.parameter, error.value, error.accepted) == ("operations", "6", "at most 5")
    assert [op.name for op in parse([("codec", "a")], VIDEO)] == ["wrap"]  # alone: counted 1


def test_json_round_trips_through_the_same_models() -> None:
    ops = parse([("scale", "1.5"), ("mode", "fast"), ("mirror", "")])
    document = [op.as_json() for op in ops]
    assert document == [{"op": "scale", "factor": 1.5, "mode": "fast"}, {"op": "mirror"}]
    assert parse_json(CATALOGUE, IMAGE, document, limits=LIMITS) == ops


@pytest.mark.parametrize(
    ("document", "parameter"),
    [
        ({"op": "scale"}, "ops"),
        ([{"op": "blur"}], "ops[0].op"),
        ([{"op": "mirror"}, {"op": "scale", "factor": "big"}], "ops[1].factor"),
        ([{"op": "mirror", "extra": 1}], "ops[0].extra"),
    ],
)
def test_json_errors_name_the_place(document: object, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_json(CATALOGUE, IMAGE, document, limits=LIMITS)
    assert caught.value.parameter == parameter


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.5", 12.5), ("01:02", 62), ("1:00:01.250", 3601.25), ("0", 0)],
)
def test_times(text: str, expected: float) -> None:
    assert grammar.seconds("t", text) == expected


@pytest.mark.parametrize("text", ["-1", "1:60", "abc", "nan", "inf", ""])
def test_bad_times(text: str) -> None:
    with pytest.raises(InvalidParameter, match="accepted: seconds"):
        grammar.seconds("t", text)


@pytest.mark.parametrize(
    ("text", "expected"), [("800x600", (800, 600)), ("800x", (800, None)), ("x600", (None, 600))]
)
def test_sizes(text: str, expected: tuple[int | None, int | None]) -> None:
    assert grammar.size("resize", text, maximum=10000) == expected


@pytest.mark.parametrize("text", ["x", "800", "0x10", "10x99999", "axb", "-5x5"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(InvalidParameter, match="WxH, Wx or xH"):
        grammar.size("resize", text, maximum=10000)


TOO_MANY_DIGITS = "9" * 4301  # one more than Python's int() converts


@pytest.mark.parametrize(
    "read",
    [
        lambda: grammar.integer("n", TOO_MANY_DIGITS, minimum=0, maximum=10),
        lambda: grammar.integer("n", "-" + TOO_MANY_DIGITS),
        lambda: grammar.size("n", f"{TOO_MANY_DIGITS}x", maximum=10000),
        lambda: grammar.size("n", f"x{TOO_MANY_DIGITS}", maximum=10000),
        lambda: grammar.seconds("n", f"{TOO_MANY_DIGITS}:00:00"),
        lambda: grammar.seconds("n", f"{'9' * 400}:00:00"),  # hours too many for a float
    ],
)
def test_a_number_with_too_many_digits_is_out_of_range(read: Callable[[], object]) -> None:
    with pytest.raises(InvalidParameter, match="out of range: more than 18 digits") as caught:
        read()
    assert caught.value.parameter == "n"
    assert caught.value.value.endswith("…")  # the value, cut short


def test_leading_zeros_do_not_count_as_digits() -> None:
    assert grammar.integer("n", "0" * 5000 + "7") == 7
    assert grammar.size("n", "0" * 5000 + "8x", maximum=10) == (8, None)


def test_a_long_text_that_is_no_number_is_not_an_integer() -> None:
    with pytest.raises(InvalidParameter, match="not an integer"):
        grammar.integer("n", "a" * 5000)


def test_catalogue_refuses_a_name_defined_twice() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        Catalogue([Scale, Scale])


def test_a_terminal_operation_must_come_last() -> None:
    assert [op.name for op in parse([("mirror", ""), ("snapshot", "")])] == ["mirror", "snapshot"]
    assert "must be the last operation" in str(refused([("snapshot", ""), ("mirror", "")]))


def test_operations_check_their_limits() -> None:
    tight = Limits(max_pixels=1, max_output_side=10, max_video_seconds=1, max_operations=5)
    with pytest.raises(InvalidParameter, match="needs 100 px"):
        parse_query(CATALOGUE, IMAGE, [("snapshot", "")], limits=tight)


def test_after_an_operation_whose_results_are_images_come_image_operations() -> None:
    query = [("cut", "1"), ("still", ""), ("mode", "fast"), ("scale", "2"), ("mirror", "")]
    ops = parse(query, VIDEO)
    assert [(op.name, op.kind) for op in ops] == [
        ("cut", VIDEO), ("still", VIDEO), ("scale", IMAGE), ("mirror", IMAGE),
    ]  # fmt: skip
    assert isinstance(ops[2], Scale) and ops[2].mode == "fast"
    document = [op.as_json() for op in ops]
    assert parse_json(CATALOGUE, VIDEO, document, limits=LIMITS) == ops


def test_only_operations_of_the_produced_kind_may_follow() -> None:
    error = refused([("still", ""), ("cut", "2")], VIDEO)
    assert (error.parameter, error.value) == ("cut", "2")
    assert "comes after still, whose results are images" in str(error)
    with pytest.raises(InvalidParameter) as caught:
        parse_json(CATALOGUE, VIDEO, [{"op": "still"}, {"op": "cut", "at": 1}], limits=LIMITS)
    assert caught.value.parameter == "ops[1].op"


def test_what_an_edit_makes() -> None:
    assert result_kind(CATALOGUE, VIDEO, ["cut"]) is VIDEO
    assert result_kind(CATALOGUE, VIDEO, ["cut", "still", "scale"]) is IMAGE
    assert result_kind(CATALOGUE, IMAGE, ["mirror"]) is IMAGE


def test_a_modifier_alone_brings_in_an_implied_operation_where_it_stands() -> None:
    assert parse([("cut", "1"), ("codec", "b")], VIDEO) == [
        Cut(at=1), Wrap(wrapper=None, codec="b"),
    ]  # fmt: skip
    assert parse([("codec", "a"), ("cut", "1")], VIDEO) == [Wrap(codec="a"), Cut(at=1)]
    assert "given twice" in str(refused([("codec", "a"), ("cut", "1"), ("codec", "b")], VIDEO))
    assert parse([("wrap", "bag"), ("cut", "1"), ("codec", "b")], VIDEO)[0] == Wrap(
        wrapper="bag", codec="b"
    )


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ([], IMAGE),
        ([("blur", "")], IMAGE),
        ([("scale", "")], IMAGE),
        ([("mirror", ""), ("mode", "")], IMAGE),
        ([("snapshot", ""), ("mirror", "")], IMAGE),
        ([("wrap", "box"), ("wrap", "")], VIDEO),
        ([("wrap", "box"), ("cut", "1"), ("wrap", "bag")], VIDEO),
        ([("still", ""), ("cut", "")], VIDEO),
        ([("cut", "")], IMAGE),
    ],
)
def test_a_refusal_always_says_what_it_refused(
    query: list[tuple[str, str]], kind: MediaKind
) -> None:
    error = refused(query, kind)
    assert error.value != "" and f"{error.parameter}=''" not in str(error)


def test_an_operation_given_twice_is_named_as_written() -> None:
    error = refused([("wrap", "box"), ("cut", "1"), ("wrap", "bag")], VIDEO)
    assert (error.parameter, error.value) == ("wrap", "bag")
    assert refused([("snapshot", ""), ("mirror", "")]).value == "snapshot"
    with pytest.raises(InvalidParameter) as caught:
        parse_json(CATALOGUE, VIDEO, [{"op": "wrap", "wrapper": "box"}] * 2, limits=LIMITS)
    assert caught.value.value == "wrapper:box"
