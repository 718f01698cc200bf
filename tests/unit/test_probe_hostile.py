"""Files that cost more than they look are refused from their headers, before decoding, and
a JPEG whose data cannot fill its declared picture is refused as truncated. Every page of a
TIFF and every picture of an MPO counts, not only the first."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, TiffImagePlugin

from runner.engine.frames import MAX_ANIMATION_FRAMES, gif_layout
from runner.engine.probe import MediaFacts, probe
from service.kernel.errors import InvalidMedia
from tests import media
from tests.hostile import camera_mpo, filler_jpeg, frame_bomb_gif, many_page_tiff, paged_tiff
from tests.unit.image.pictures import LIMITS, edit

MAX_PIXELS = 50_000_000
MAX_FRAME_PIXELS = 500_000_000


# Limits small enough that the files probing them stay tiny: a page of 100x100 at most, and
# ten of them in all.
SMALL_PIXELS = 10_000
SMALL_FRAME_PIXELS = 100_000


def probed(
    path: Path, *, max_pixels: int = MAX_PIXELS, max_frame_pixels: int = MAX_FRAME_PIXELS
) -> MediaFacts:
    return probe(
        path, max_pixels=max_pixels, max_video_seconds=60.0, max_frame_pixels=max_frame_pixels
    )


def saved(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "content",
    [
        frame_bomb_gif(),
        frame_bomb_gif(screen_side=1),  # the frames grow the canvas as they are decoded
        frame_bomb_gif(between=b"junk"),  # Pillow skips what starts no block, and so do we
    ],
    ids=["declared", "grown", "junk-between"],
)
def test_a_frame_bomb_is_refused_before_decoding(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bomb.gif"
    path.write_bytes(content)
    with pytest.raises(InvalidMedia) as refused:
        probed(path)
    message = str(refused.value)
    assert "1,999 frames on a 7000x7000 canvas" in message
    assert "97,951,000,000 pixels to decode" in message
    assert "(EDITROOM_MAX_FRAME_PIXELS)" in message
    assert "refused before decoding any frame" in message


def test_an_animation_within_the_budget_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "small.gif"
    path.write_bytes(frame_bomb_gif(frames=50, side=100))
    facts = probed(path)
    assert (facts.width, facts.height) == (100, 100)


@pytest.mark.parametrize("frames", [1, 4, 30])
def test_gif_frames_are_counted_as_pillow_counts_them(tmp_path: Path, frames: int) -> None:
    path = tmp_path / "animated.gif"
    content = media.animated("GIF", frames=frames) if frames > 1 else media.image_bytes("GIF")
    path.write_bytes(content)
    with Image.open(path) as image:
        assert gif_layout(path) == (getattr(image, "n_frames", 1), image.size)
        assert image.size == ((64, 48) if frames == 1 else (32, 24))
    assert gif_layout(path)[0] == frames


def test_the_canvas_is_what_decoding_every_frame_makes_it(tmp_path: Path) -> None:
    path = tmp_path / "grown.gif"
    path.write_bytes(frame_bomb_gif(frames=3, side=40, screen_side=10))
    with Image.open(path) as image:
        for frame in range(getattr(image, "n_frames", 1)):
            image.seek(frame)
            image.load()
        assert gif_layout(path) == (3, image.size) == (3, (40, 40))


def test_counting_stops_past_the_frame_limit(tmp_path: Path) -> None:
    path = tmp_path / "many.gif"
    path.write_bytes(frame_bomb_gif(frames=50_000, side=1))
    assert gif_layout(path) == (MAX_ANIMATION_FRAMES + 1, (1, 1))
    with pytest.raises(InvalidMedia, match=r"2,001 frames or more; accepted: at most 2,000"):
        probed(path)


@pytest.mark.parametrize("declared", [(7000, 7000), (2000, 2000), (400, 300)])
def test_a_jpeg_whose_data_cannot_fill_its_header_is_refused(
    tmp_path: Path, declared: tuple[int, int]
) -> None:
    path = tmp_path / "filler.jpg"
    path.write_bytes(filler_jpeg(declared=declared))
    with pytest.raises(InvalidMedia) as refused:
        probed(path)
    width, height = declared
    assert f"does not fill the {width}x{height} picture its header declares" in str(refused.value)


def test_the_same_jpeg_with_its_true_size_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "honest.jpg"
    path.write_bytes(filler_jpeg(declared=(320, 240)))
    facts = probed(path)
    assert (facts.width, facts.height) == (320, 240)


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize(
    ("name", "content", "named"),
    [
        ("pages.tiff", paged_tiff((10, 10), (200, 200)), "page 2 of 2"),
        ("pages.tiff", paged_tiff((10, 10), (10, 10), (10, 10), (200, 200)), "page 4 of 4"),
        ("camera.mpo", camera_mpo((40, 30), (200, 200)), "picture 2 of 2"),
    ],
    ids=["tiff", "tiff-last-page", "mpo"],
)
def test_every_page_is_held_to_the_pixel_limit_before_decoding(
    tmp_path: Path, name: str, content: bytes, named: str
) -> None:
    """A small first page hid a 400 MP second one (EDITROOM_MAX_PIXELS's 50 MP, scaled)."""
    with pytest.raises(InvalidMedia) as refused:
        probed(saved(tmp_path, name, content), max_pixels=SMALL_PIXELS)
    assert str(refused.value) == (
        f"{named}: 200x200 is 40,000 pixels; the limit is 10,000 (EDITROOM_MAX_PIXELS)"
    )


@pytest.mark.usefixtures("no_decoding")
def test_all_pages_together_are_held_to_the_frame_pixel_limit_before_decoding(
    tmp_path: Path,
) -> None:
    """Twelve pages each within the limit behind a small first page: 588 MP at full scale."""
    path = saved(tmp_path, "pages.tiff", paged_tiff((10, 10), *[(100, 100)] * 12))
    with pytest.raises(InvalidMedia) as refused:
        probed(path, max_pixels=SMALL_PIXELS, max_frame_pixels=SMALL_FRAME_PIXELS)
    assert str(refused.value) == (
        "the image declares 13 pages of up to 100x100, 120,100 pixels to decode; the limit is "
        "100,000 (EDITROOM_MAX_FRAME_PIXELS); refused before decoding any page"
    )


@pytest.mark.usefixtures("no_decoding")
def test_a_tiff_whose_pages_differ_in_size_is_refused_before_decoding(tmp_path: Path) -> None:
    """Edits change every page alike: pages of other sizes have no result they could share."""
    path = saved(tmp_path, "mixed.tiff", paged_tiff((40, 30), (40, 30), (20, 15)))
    with pytest.raises(InvalidMedia) as refused:
        probed(path)
    message = str(refused.value)
    assert message.startswith("page 3 is 20x15 but page 1 is 40x30; ")
    assert "editroom edits all the pages of an image together, so they must be of one size" in (
        message
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("pages.tiff", paged_tiff((40, 30), (40, 30), (40, 30))),
        ("camera.mpo", camera_mpo((40, 30), (20, 15))),  # only the first picture is edited
    ],
    ids=["tiff-of-one-size", "mpo-with-a-preview"],
)
def test_pages_within_the_limits_are_accepted(tmp_path: Path, name: str, content: bytes) -> None:
    facts = probed(
        saved(tmp_path, name, content),
        max_pixels=SMALL_PIXELS,
        max_frame_pixels=SMALL_FRAME_PIXELS,
    )
    assert (facts.width, facts.height) == (40, 30)


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("five.gif", media.animated("GIF", frames=5, size=(100, 100)),
         "5 frames on a 100x100 canvas"),
        ("five.webp", media.animated("WEBP", frames=5, size=(100, 100)),
         "5 frames on a 100x100 canvas"),
        ("five.tiff", paged_tiff(*[(100, 100)] * 5), "5 pages of 100x100"),
    ],
)  # fmt: skip
def test_frames_more_than_an_edit_holds_are_refused_at_upload(
    tmp_path: Path, name: str, content: bytes, declared: str
) -> None:
    """The check held frames to EDITROOM_MAX_FRAME_PIXELS (500 million) and an edit to 4 times
    EDITROOM_MAX_PIXELS (200 million): 1,000 frames of 500x500 were accepted, and every edit
    of them failed."""
    path = saved(tmp_path, name, content)
    with pytest.raises(InvalidMedia) as refused:
        probed(path, max_pixels=SMALL_PIXELS, max_frame_pixels=10 * SMALL_FRAME_PIXELS)
    assert str(refused.value).startswith(
        f"the image declares {declared}, 50,000 pixels; an edit holds all of them at once, "
        "at most 40,000 (4 times EDITROOM_MAX_PIXELS)"
    )


@pytest.mark.parametrize(
    "content",
    [media.animated("GIF", frames=4, size=(100, 100)), paged_tiff(*[(100, 100)] * 4)],
    ids=["gif", "tiff"],
)
def test_frames_an_upload_is_accepted_with_an_edit_reads(tmp_path: Path, content: bytes) -> None:
    path = saved(tmp_path, "four", content)
    probed(path, max_pixels=SMALL_PIXELS, max_frame_pixels=10 * SMALL_FRAME_PIXELS)
    limits = replace(LIMITS, max_pixels=SMALL_PIXELS)
    assert edit(path, "format=png", out_dir=tmp_path, limits=limits).size == (100, 100)


def test_a_tiff_of_many_pages_is_read_no_further_than_the_page_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow's own count reads every page's header first, in time growing with their square:
    40,000 pages of 100 bytes (4 MB) held an upload's check for 13 s, 100,000 for its whole
    time limit."""
    path = saved(tmp_path, "pages.tiff", many_page_tiff(6000))
    headers = 0
    load = TiffImagePlugin.ImageFileDirectory_v2.load

    def counted(directory: TiffImagePlugin.ImageFileDirectory_v2, fp: Any) -> None:
        nonlocal headers
        headers += 1
        load(directory, fp)

    monkeypatch.setattr(TiffImagePlugin.ImageFileDirectory_v2, "load", counted)
    with pytest.raises(InvalidMedia, match=r"2,001 pages or more; accepted: at most 2,000"):
        probed(path)
    assert headers <= 3 * (MAX_ANIMATION_FRAMES + 1)
