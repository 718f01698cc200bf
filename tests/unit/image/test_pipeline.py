"""edit_image end to end: formats, modes, orientation, colour profiles, metadata, order."""

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageSequence

from runner.engine.image.flip import Flip
from runner.engine.image.pipeline import edit_image
from runner.engine.ops.base import Operation
from runner.engine.ops.noop import ImageNoop
from tests.hostile import growing_gif
from tests.unit.image.pictures import (
    BLUE,
    GREEN,
    LIMITS,
    QUADRANTS,
    RED,
    WHITE,
    astronaut,
    colour_at,
    corners,
    edit,
    edit_path,
    icc_of,
    mean_difference,
    near,
    quadrants,
    save,
    shows,
    srgb_profile,
)  # fmt: skip

FLIPPED = (GREEN, RED, WHITE, BLUE)  # QUADRANTS after flip=h


def run(source: Path, operations: Sequence[Operation], progress: list[float] | None = None) -> Path:
    seen = progress if progress is not None else []
    (path,) = edit_image(
        source, operations, out_dir=source.parent, limits=LIMITS, progress=seen.append
    )
    return path


@pytest.mark.parametrize(
    ("format", "pillow_name"),
    [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("avif", "AVIF"), ("gif", "GIF"),
     ("tiff", "TIFF")],
)  # fmt: skip
def test_each_format_is_written_as_asked(tmp_path: Path, format: str, pillow_name: str) -> None:
    path = edit_path(save(quadrants(), tmp_path / "q.png"), f"flip=h&format={format}")
    assert path.name == f"q-edited.{'jpg' if format == 'jpeg' else format}"
    with Image.open(path) as result:
        assert result.format == pillow_name
        assert result.size == (80, 60)
        assert shows(result, FLIPPED)


@pytest.mark.parametrize(
    ("name", "pillow_name"),
    [("q.jpg", "JPEG"), ("q.png", "PNG"), ("q.webp", "WEBP"), ("q.gif", "GIF"),
     ("q.tiff", "TIFF"), ("q.avif", "AVIF")],
)  # fmt: skip
def test_without_a_format_the_source_format_is_kept(
    tmp_path: Path, name: str, pillow_name: str
) -> None:
    result = edit(save(quadrants(), tmp_path / name), "flip=h")
    assert result.format == pillow_name
    assert shows(result, FLIPPED)


def test_quality_trades_size_for_fidelity(tmp_path: Path) -> None:
    source = save(astronaut().resize((128, 128)), tmp_path / "photo.png")
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    low = edit_path(source, "format=webp&quality=5", out_dir=tmp_path / "low")
    high = edit_path(source, "format=webp&quality=95", out_dir=tmp_path / "high")
    assert low.stat().st_size < high.stat().st_size / 2
    with Image.open(source) as original, Image.open(low) as worse, Image.open(high) as better:
        assert mean_difference(original, worse) > 2 * mean_difference(original, better)


def _palette(transparent: bool) -> Image.Image:
    image = quadrants().convert("P")
    if transparent:
        image.info["transparency"] = image.getpixel((70, 50))  # the white quarter
    return image


@pytest.mark.parametrize(
    ("image", "mode", "bottom_right"),
    [
        (quadrants(), "RGB", (*WHITE, 255)),
        (quadrants().convert("RGBA"), "RGBA", (*WHITE, 255)),
        (quadrants().convert("L"), "L", (255, 255, 255, 255)),
        (quadrants().convert("LA"), "LA", (255, 255, 255, 255)),
        (_palette(transparent=False), "RGB", (*WHITE, 255)),
        (_palette(transparent=True), "RGBA", (*WHITE, 0)),
        (quadrants().convert("1"), "L", (255, 255, 255, 255)),
        (Image.new("I;16", (80, 60), 40000), "L", (156, 156, 156, 255)),
    ],
)
def test_source_modes_become_working_modes(
    tmp_path: Path, image: Image.Image, mode: str, bottom_right: tuple[int, ...]
) -> None:
    result = edit(save(image, tmp_path / "source.png"), "flip=v&flip=v")
    assert result.mode == mode
    assert near(colour_at(result, 0.75, 0.75), bottom_right, tolerance=2)


def test_a_cmyk_jpeg_becomes_rgb_with_its_colours(tmp_path: Path) -> None:
    cyan = Image.new("CMYK", (40, 30), (255, 0, 0, 0))
    result = edit(save(cyan, tmp_path / "cyan.jpg", quality=95), "flip=h")
    assert (result.format, result.mode) == ("JPEG", "RGB")
    assert near(colour_at(result, 0.5, 0.5), (0, 255, 255, 255))


def test_a_cmyk_jpeg_with_a_damaged_profile_still_converts(tmp_path: Path) -> None:
    cyan = Image.new("CMYK", (40, 30), (255, 0, 0, 0))
    broken = bytes(16) + b"CMYK" + bytes(120)
    result = edit(save(cyan, tmp_path / "cyan.jpg", icc_profile=broken), "format=png")
    assert near(colour_at(result, 0.5, 0.5), (0, 255, 255, 255))
    assert icc_of(result) is None


def exif_jpeg(path: Path, orientation: int, size: tuple[int, int] = (80, 60)) -> Path:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Test Camera"
    return save(quadrants(size), path, exif=exif.tobytes(), comment=b"private", quality=95)


@pytest.mark.parametrize(
    ("orientation", "size", "colours"),
    [
        (1, (80, 60), QUADRANTS),
        (3, (80, 60), (WHITE, BLUE, GREEN, RED)),
        (6, (60, 80), (BLUE, RED, WHITE, GREEN)),
        (8, (60, 80), (GREEN, WHITE, RED, BLUE)),
    ],
)
def test_exif_orientation_is_applied_first(
    tmp_path: Path, orientation: int, size: tuple[int, int], colours: Sequence[tuple[int, ...]]
) -> None:
    result = edit(exif_jpeg(tmp_path / "photo.jpg", orientation), "crop=0,0,60,60&resize=30x")
    assert result.size == (30, 30)
    upright = edit(exif_jpeg(tmp_path / "photo.jpg", orientation), "format=png")
    assert upright.size == size
    assert shows(upright, colours)


def test_metadata_other_than_the_colour_profile_is_stripped(tmp_path: Path) -> None:
    source = exif_jpeg(tmp_path / "photo.jpg", 6)
    for query in ("flip=h", "format=jpeg", "format=png", "format=webp", "format=tiff"):
        result = edit(source, query)
        exif = result.getexif()
        assert ExifTags.Base.Make not in exif, query
        assert ExifTags.Base.Orientation not in exif, query
        assert "comment" not in result.info, query


def test_the_icc_profile_is_kept(tmp_path: Path) -> None:
    profile = srgb_profile()
    source = save(quadrants(), tmp_path / "tagged.png", icc_profile=profile)
    for query in ("flip=h", "resize=40x&format=jpeg", "format=webp", "format=avif", "format=tiff"):
        assert icc_of(edit(source, query)) == profile, query


def test_a_profile_that_no_longer_fits_the_pixels_is_dropped(tmp_path: Path) -> None:
    source = save(quadrants(), tmp_path / "tagged.png", icc_profile=srgb_profile())
    result = edit(source, "color=grayscale")
    assert result.mode == "L"
    assert icc_of(result) is None


PALETTES = [QUADRANTS, (GREEN, WHITE, RED, BLUE), (WHITE, BLUE, GREEN, RED)]
Colours = Sequence[Sequence[int]]  # a frame's quarters, in QUADRANTS order


@pytest.fixture
def frames() -> list[Image.Image]:
    """Three frames whose quarters take turns, so each can be told apart."""
    return [quadrants((40, 30), colours) for colours in PALETTES]


def opaque(colours: Colours) -> Colours:
    return [(*colour, 255) for colour in colours]


def grey(colour: Sequence[int]) -> tuple[int, int, int]:
    red, green, blue = colour
    luma = round((299 * red + 587 * green + 114 * blue) / 1000)  # ITU-R 601-2
    return luma, luma, luma


def sepia(colour: Sequence[int]) -> tuple[int, ...]:
    matrix = ((0.393, 0.769, 0.189), (0.349, 0.686, 0.168), (0.272, 0.534, 0.131))
    return tuple(
        min(255, round(sum(k * c for k, c in zip(row, colour, strict=True)))) for row in matrix
    )


# Each: the query, the result's size, and what a frame whose quarters are `q` shows after it.
ANIMATION_EDITS: dict[str, tuple[str, tuple[int, int], Callable[[Colours], Colours]]] = {
    "geometry": (
        "resize=80x60&fit=fill&upscale=true&flip=h&rotate=180&text=x&text_size=8"
        "&text_position=top-left",
        (80, 60),
        lambda q: opaque((q[2], q[3], q[0], q[1])),  # flip=h then rotate=180 is flip=v
    ),
    "crop": ("crop=10,8,20,15", (20, 15), opaque),  # around the centre: every quarter
    # In GIF, on or off, 0.6 is opaque (and 0.4 would make every frame the same, empty one).
    "opacity": ("opacity=0.6", (40, 30), lambda q: [(*colour, 153) for colour in q]),
    "grayscale": ("color=grayscale", (40, 30), lambda q: opaque([grey(c) for c in q])),
    "sepia": ("color=sepia", (40, 30), lambda q: opaque([sepia(c) for c in q])),
}


def on_or_off(colours: Colours) -> Colours:
    """As GIF shows them: at least half opaque is opaque, the rest transparent."""
    return [(*colour[:3], 255 if colour[3] >= 128 else 0) for colour in colours]


def visible(colour: Sequence[int]) -> Sequence[int]:
    """A transparent pixel's colour is not seen."""
    return colour if colour[3] else (0, 0, 0, 0)


@pytest.mark.parametrize("name", ["anim.gif", "anim.webp", "anim.png", "anim.avif"])
@pytest.mark.parametrize("into", ["", "&format=gif", "&format=webp", "&format=png", "&format=avif"])
@pytest.mark.parametrize("operation", list(ANIMATION_EDITS))
def test_animations_keep_every_frame_through_every_operation(
    tmp_path: Path, frames: list[Image.Image], name: str, into: str, operation: str
) -> None:
    source = save(
        frames[0], tmp_path / name, save_all=True, append_images=frames[1:],
        duration=[100, 200, 300], loop=0, lossless=True,
    )  # fmt: skip
    query, size, after = ANIMATION_EDITS[operation]
    with Image.open(edit_path(source, query + into)) as result:
        if result.format != "AVIF":  # Pillow reads no loop count from an AVIF
            assert result.info.get("loop") == 0
        assert getattr(result, "n_frames", 1) == 3
        for number, frame in enumerate(ImageSequence.Iterator(result)):
            frame.load()
            assert frame.info["duration"] == 100 * (number + 1)
            assert frame.size == size
            expected = after(PALETTES[number])
            if result.format == "GIF":
                expected = on_or_off(expected)
            seen = [visible(colour) for colour in corners(frame)]
            wanted = [visible(colour) for colour in expected]
            assert all(near(a, b) for a, b in zip(seen, wanted, strict=True)), (
                number,
                seen,
                wanted,
            )


def test_an_avif_animation_is_taken_to_loop_forever(
    tmp_path: Path, frames: list[Image.Image]
) -> None:
    """Pillow reads no loop count from an AVIF; libavif writes "forever" unless told."""
    source = save(frames[0], tmp_path / "anim.avif", save_all=True, append_images=frames[1:])
    with Image.open(edit_path(source, "flip=h&format=webp")) as result:
        assert result.info.get("loop") == 0


def test_an_animation_written_as_jpeg_keeps_its_first_frame(
    tmp_path: Path, frames: list[Image.Image]
) -> None:
    source = save(frames[0], tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    result = edit(source, "format=jpeg")
    assert getattr(result, "n_frames", 1) == 1
    assert shows(result, QUADRANTS)


def test_a_camera_mpo_is_edited_as_its_main_picture(tmp_path: Path) -> None:
    preview = Image.new("RGB", (20, 15), (128, 128, 128))
    source = save(quadrants(), tmp_path / "camera.mpo", save_all=True, append_images=[preview])
    result = edit(source, "resize=40x")
    assert (result.format, result.size, getattr(result, "n_frames", 1)) == ("JPEG", (40, 30), 1)
    assert shows(result, QUADRANTS)


@pytest.mark.parametrize("into", ["format=gif", "format=webp", "format=png", "format=tiff"])
def test_a_gif_whose_frames_grow_its_canvas_has_frames_of_one_size(
    tmp_path: Path, into: str
) -> None:
    """Pillow decodes the first frame at the 10x10 screen and the next on the canvas the second
    grows to 40x40: the first is set on that canvas, so every writer takes the frames."""
    source = tmp_path / "grown.gif"
    source.write_bytes(growing_gif(side=40))
    with Image.open(edit_path(source, f"flip=h&{into}")) as result:
        sizes = {frame.size for frame in ImageSequence.Iterator(result)}
        assert sizes == {(40, 40)}


def test_transparency_in_gif_is_on_or_off(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (10, 10), RED), tmp_path / "red.png")
    assert colour_at(edit(source, "opacity=0.6&format=gif"), 0.5, 0.5) == (*RED, 255)
    assert colour_at(edit(source, "opacity=0.4&format=gif"), 0.5, 0.5)[3] == 0


def test_operations_run_in_the_order_written(tmp_path: Path) -> None:
    source = save(quadrants((200, 100)), tmp_path / "q.png")
    crop_first = edit(source, "crop=0,0,100,50&resize=50x")
    resize_first = edit(source, "resize=50x&crop=0,0,50,25")
    assert crop_first.size == resize_first.size == (50, 25)
    assert shows(crop_first, (RED, RED, RED, RED))
    assert shows(resize_first, QUADRANTS)


def test_progress_rises_to_one(tmp_path: Path) -> None:
    progress: list[float] = []
    run(save(quadrants(), tmp_path / "q.png"), [Flip(axis="h"), Flip(axis="v")], progress)
    assert progress == sorted(progress)
    assert len(progress) >= 3
    assert progress[-1] == 1.0


def test_noop_changes_nothing(tmp_path: Path) -> None:
    with Image.open(run(save(quadrants(), tmp_path / "q.png"), [ImageNoop()])) as result:
        assert shows(result, QUADRANTS)
