"""crop, rotate, flip, text and overlay: what the picture shows afterwards."""

from pathlib import Path
from uuid import uuid4

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from runner.engine.ops.base import Limits, MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_json, parse_query
from service.kernel.errors import EditFailed, InvalidParameter
from tests.unit.video.conftest import Edit, Make
from tests.unit.video.media import assert_in_sync, facts, numbers

Pixels = npt.NDArray[np.int16] | npt.NDArray[np.float64]
TOLERANCE = 12  # mean absolute difference per channel after a re-encode


def frame_at(path: Path, seconds: float) -> Pixels:
    with av.open(str(path)) as container:
        shown = None
        for frame in container.decode(video=0):
            if (frame.time or 0.0) > seconds + 1e-3:
                break
            shown = frame
        assert shown is not None
        return shown.to_ndarray(format="rgb24").astype(np.int16)


def difference(a: Pixels, b: Pixels) -> float:
    return float(np.abs(a - b).mean())


def test_crop_keeps_that_rectangle(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("crop", "20,30,100,60")])
    assert facts(result).size == (100, 60)
    expected = frame_at(source, 1.0)[30:90, 20:120]
    assert difference(frame_at(result, 1.0), expected) < TOLERANCE


def test_crop_outside_the_picture_fails(make: Make, edit: Edit) -> None:
    with pytest.raises(
        EditFailed, match=r"reaches past the right edge \(x \+ w = 200\) of the 160x96 picture"
    ):
        edit(make(), [("crop", "100,0,100,50")])


def test_rotate_turns_the_picture_clockwise(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("rotate", "90")])
    assert facts(result).size == (96, 160)
    assert facts(result).rotation == 0  # turned in the pixels, not in metadata
    assert numbers(result, turned=270) == list(range(72))
    expected = np.rot90(frame_at(source, 1.0), k=-1)
    assert difference(frame_at(result, 1.0), expected) < TOLERANCE


def test_flip_mirrors_and_a_crop_after_it_sees_the_mirrored_picture(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("flip", "h"), ("crop", "0,0,80,96")])
    assert facts(result).size == (80, 96)
    expected = frame_at(source, 1.0)[:, ::-1][:, :80]
    assert difference(frame_at(result, 1.0), expected) < TOLERANCE


def test_text_is_burned_in_only_for_its_time_range(make: Make, edit: Edit) -> None:
    source = make()
    query = [("text", "HELLO"), ("text_from", "1"), ("text_to", "2"), ("text_size", "30"),
             ("text_color", "red"), ("text_position", "center")]  # fmt: skip
    (result,) = edit(source, query)
    middle = (slice(30, 70), slice(40, 120))
    for seconds, shown in ((0.5, False), (1.5, True), (2.5, False)):
        before, after = frame_at(source, seconds)[middle], frame_at(result, seconds)[middle]
        assert (difference(before, after) > 20) is shown, seconds
    red = frame_at(result, 1.5)[middle]
    assert ((red[:, :, 0] > 180) & (red[:, :, 1] < 80)).sum() > 50  # red ink
    assert_in_sync(result)


def test_an_image_overlay_goes_where_its_gravity_says_with_its_opacity(
    make: Make, edit: Edit, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (30, 20), (0, 0, 255, 255)).save(logo)
    media = uuid4()
    query = [("overlay", str(media)), ("overlay_gravity", "top-left"), ("overlay_opacity", "0.5"),
             ("overlay_to", "2")]  # fmt: skip
    source = make()
    (result,) = edit(source, query, others={media: logo})
    margin = 3  # 3 % of the shorter side, 96
    box = (slice(margin + 4, margin + 16), slice(margin + 4, margin + 26))
    under = frame_at(source, 1.0)[box]
    seen = frame_at(result, 1.0)[box]
    half_blue = under / 2 + np.array([0, 0, 255]) / 2
    assert difference(seen, half_blue) < TOLERANCE
    assert difference(frame_at(result, 2.5)[box], frame_at(source, 2.5)[box]) < TOLERANCE


def test_overlay_scale_sizes_the_image_as_a_share_of_the_video_width(
    make: Make, edit: Edit, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (30, 20), (0, 0, 255, 255)).save(logo)
    media = uuid4()
    source = make()
    query = [("overlay", str(media)), ("overlay_gravity", "top-left"), ("overlay_scale", "0.5")]
    (result,) = edit(source, query, others={media: logo})
    blue = frame_at(result, 1.0)
    is_blue = (blue[:, :, 2] > 180) & (blue[:, :, 0] < 80) & (blue[:, :, 1] < 80)
    columns, rows = np.flatnonzero(is_blue.any(axis=0)), np.flatnonzero(is_blue.any(axis=1))
    margin = 3  # 3 % of the shorter side, 96
    # 160 px wide: half is 80 px, its proportions kept (20/30 of it high), from the margin.
    assert (columns[0], rows[0]) == pytest.approx((margin, margin), abs=2)
    assert (columns[-1] + 1 - columns[0], rows[-1] + 1 - rows[0]) == pytest.approx((80, 53), abs=3)
    with pytest.raises(InvalidParameter, match="overlay_scale"):
        edit(source, [("overlay", str(media)), ("overlay_scale", "2")], others={media: logo})


def share_before(mask: npt.NDArray[np.bool_], margin: int) -> tuple[float, float]:
    """Of the free room inside `margin` around what `mask` holds, the share left of it and the
    share above it: a place's fractions, whatever the thing's size."""
    columns, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    height, width = mask.shape
    left, right = columns[0] - margin, width - margin - columns[-1] - 1
    top, bottom = rows[0] - margin, height - margin - rows[-1] - 1
    return left / (left + right), top / (top + bottom)


def test_text_and_an_overlay_go_to_an_x_y_point(make: Make, edit: Edit, tmp_path: Path) -> None:
    """A point is a place like the nine: the thing's own point at those fractions sits on the
    picture's, inside the margin (the source's texture is never this red or this blue)."""
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (30, 20), (0, 0, 255, 255)).save(logo)
    media = uuid4()
    query = [("text", "HI"), ("text_size", "24"), ("text_color", "red"),
             ("text_position", "0.8:0.3"), ("overlay", str(media)),
             ("overlay_gravity", "0.25:0.75")]  # fmt: skip
    (result,) = edit(make(), query, others={media: logo})
    frame = frame_at(result, 1.0)
    red, green, blue = (frame[:, :, channel] for channel in range(3))
    margin = 3  # 3 % of the shorter side, 96
    # Text has an outline a pixel or two wide around its red ink: a hair off the place.
    assert share_before((red > 180) & (green < 80), margin) == pytest.approx((0.8, 0.3), abs=0.05)
    is_blue = (blue > 180) & (red < 80) & (green < 80)
    assert share_before(is_blue, margin) == pytest.approx((0.25, 0.75), abs=0.03)


def test_an_overlay_that_is_not_an_image_fails(make: Make, edit: Edit, tmp_path: Path) -> None:
    media = uuid4()
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an image")
    with pytest.raises(EditFailed, match="is not an image"):
        edit(make(), [("overlay", str(media))], others={media: junk})


@pytest.mark.parametrize("text", ["a\x00b", "a\tb", "\U0010fffd"])
def test_text_no_font_draws_is_refused_named_before_any_work(text: str) -> None:
    """As on images: a NUL (which PostgreSQL's jsonb could not keep either), a tab, a character
    without a glyph; from the query and from JSON alike."""
    limits = Limits(max_pixels=10**7, max_output_side=4000, max_video_seconds=60, max_operations=5)
    code = f"U\\+{ord(text.strip('ab')):04X}"
    with pytest.raises(InvalidParameter, match=rf"text=.*no available font draws.*{code}"):
        parse_query(catalogue(), MediaKind.VIDEO, [("text", text)], limits=limits)
    with pytest.raises(InvalidParameter, match=code):
        parse_json(catalogue(), MediaKind.VIDEO, [{"op": "text", "text": text}], limits=limits)
