"""Files that cost more than they look are refused from their headers, before decoding, and
a JPEG whose data cannot fill its declared picture is refused as truncated."""

from pathlib import Path

import pytest
from PIL import Image

from runner.engine.frames import MAX_ANIMATION_FRAMES, gif_layout
from runner.engine.probe import MediaFacts, probe
from service.kernel.errors import InvalidMedia
from tests import media
from tests.hostile import filler_jpeg, frame_bomb_gif

MAX_PIXELS = 50_000_000
MAX_FRAME_PIXELS = 500_000_000


def probed(path: Path) -> MediaFacts:
    return probe(
        path, max_pixels=MAX_PIXELS, max_video_seconds=60.0, max_frame_pixels=MAX_FRAME_PIXELS
    )


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
