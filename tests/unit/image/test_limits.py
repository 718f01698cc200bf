"""What the pipeline refuses, and how it says so: too many pixels (before decoding), results
too large, damaged files. And how a JPEG being reduced is decoded at a reduced scale."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, JpegImagePlugin

from runner.engine.image.encoding import luma, ssim
from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed
from tests.hostile import (
    avif_with_scrambled_data,
    growing_gif,
    paged_tiff,
    tiff_whose_second_page_has_no_width,
)
from tests.unit.image.pictures import (
    BLUE,
    GREEN,
    LIMITS,
    QUADRANTS,
    RED,
    WHITE,
    colour_at,
    edit,
    edit_path,
    mean_difference,
    near,
    noise,
    quadrants,
    save,
    shows,
)  # fmt: skip


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size and holds no pixels: all a decompression bomb needs."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(64))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@pytest.mark.usefixtures("no_decoding")
def test_too_many_pixels_are_refused_before_decoding(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (2100, 2000)), tmp_path / "large.png")
    with pytest.raises(EditFailed) as caught:
        edit(source, "flip=h")
    assert str(caught.value).startswith("the image is 2100x2000 (4.2 MP), over the limit of 4 MP")


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((3000, 2000), r"the image is 3000x2000 \(6 MP\), over the limit of 4 MP"),
        ((100_000, 100_000), r"far over the limit of 4 MP \(.*10000000000 pixels"),
    ],
)
def test_a_bomb_is_refused_by_its_header(
    tmp_path: Path, size: tuple[int, int], message: str
) -> None:
    source = tmp_path / "bomb.png"
    source.write_bytes(png_header(*size))
    with pytest.raises(EditFailed, match=message):
        edit(source, "resize=10x")


def test_an_animation_is_limited_by_all_its_frames(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (200, 200), (index, 0, 0)) for index in range(11)]
    small = Limits(max_pixels=100_000, max_output_side=300, max_video_seconds=1, max_operations=5)
    ten = save(frames[0], tmp_path / "ten.gif", save_all=True, append_images=frames[1:10])
    assert edit(ten, "flip=h", limits=small).size == (200, 200)  # four times the limit at most
    eleven = save(frames[0], tmp_path / "eleven.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(EditFailed) as caught:
        edit(eleven, "flip=h", limits=small)
    assert str(caught.value).startswith(
        "the image has 11 frames of 200x200 (0.44 MP in all), over the limit of 0.4 MP"
    )


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize("query", ["flip=h", "rotate=33", "format=webp", "format=gif"])
def test_a_tiff_whose_pages_differ_in_size_is_refused_before_decoding(
    tmp_path: Path, query: str
) -> None:
    """Stored before uploads were checked page by page: its small first page hid the others,
    whose decoding ran out of memory, and WebP's writer failed with its own words."""
    source = tmp_path / "pages.tiff"
    source.write_bytes(paged_tiff((10, 10), (2100, 2000)))
    with pytest.raises(EditFailed) as caught:
        edit(source, query)
    message = str(caught.value)
    assert message.startswith(
        "the file pages.tiff cannot be edited: page 2 is 2100x2000 but page 1 is 10x10; "
    )
    assert message.endswith("save pages of other sizes as images of their own")


def test_a_tiff_whose_pages_share_a_size_keeps_them_all(tmp_path: Path) -> None:
    pages = [quadrants(), quadrants(colours=(WHITE, BLUE, GREEN, RED))]
    source = save(pages[0], tmp_path / "pages.tiff", save_all=True, append_images=pages[1:])
    with Image.open(edit_path(source, "flip=h&format=webp")) as result:
        assert (result.size, getattr(result, "n_frames", 1)) == ((80, 60), 2)


@pytest.mark.usefixtures("no_decoding")
def test_a_gif_is_judged_by_the_canvas_its_frames_grow(tmp_path: Path) -> None:
    """Its screen says 10x10; its second frame, at the far corner, makes it 2100x2100."""
    source = tmp_path / "grown.gif"
    source.write_bytes(growing_gif(side=2100))
    with pytest.raises(EditFailed) as caught:
        edit(source, "flip=h")
    assert str(caught.value).startswith("the image is 2100x2100 (4.41 MP), over the limit of 4 MP")


@pytest.mark.usefixtures("no_decoding")
def test_a_result_too_large_is_refused_before_decoding(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (3100, 10)), tmp_path / "wide.jpg")
    with pytest.raises(
        EditFailed, match=r"3100x10 pixels, and no side may be over 3000 .*; add a resize"
    ):
        edit(source, "flip=h")


def test_a_result_within_limits_after_a_large_source_is_fine(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (3100, 10)), tmp_path / "wide.png")
    assert edit(source, "resize=1000x").size == (1000, 3)


def test_an_operation_that_would_make_too_many_pixels_is_refused(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (1900, 1900)), tmp_path / "square.png")
    roomy = Limits(
        max_pixels=4_000_000, max_output_side=9000, max_video_seconds=1, max_operations=5
    )
    with pytest.raises(
        EditFailed,
        match=r"the result of rotate is 268\dx268\d \(7.2\d MP\), over the limit of 4 MP",
    ):
        edit(source, "rotate=45", limits=roomy)


def test_a_crop_beyond_a_resized_image_is_refused_before_decoding(tmp_path: Path) -> None:
    source = save(quadrants(), tmp_path / "q.png")
    with pytest.raises(EditFailed, match=r"crop='0,0,50,50': reaches past .* of the 40x30 picture"):
        edit(source, "resize=40x&crop=0,0,50,50")


def test_a_truncated_file_fails_saying_so(tmp_path: Path) -> None:
    whole = save(noise((64, 64)), tmp_path / "whole.jpg")
    source = tmp_path / "cut.jpg"
    source.write_bytes(whole.read_bytes()[:600])
    with pytest.raises(EditFailed, match=r"the file cut\.jpg is damaged or truncated"):
        edit(source, "flip=h")


@pytest.mark.parametrize(
    ("name", "content"),
    [("no-width.tiff", tiff_whose_second_page_has_no_width()),
     ("scrambled.avif", avif_with_scrambled_data())],
    ids=["tiff", "avif"],
)  # fmt: skip
def test_damage_a_reader_reports_in_its_own_words_fails_saying_so(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """TIFF's reader says TypeError, AVIF's RuntimeError: an internal error of ours, before."""
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(EditFailed, match=f"the file {name} is damaged or truncated"):
        edit(source, "flip=h")


def test_a_file_that_is_not_an_image_fails_saying_so(tmp_path: Path) -> None:
    source = tmp_path / "notes.png"
    source.write_text("not an image at all")
    with pytest.raises(EditFailed, match=r"notes\.png is not an image editroom can read"):
        edit(source, "flip=h")


@pytest.mark.parametrize("name", ["picture.pcx", "picture.ppm", "picture.eps", "picture.bmp"])
def test_formats_pillow_knows_but_editroom_does_not_read_are_refused(
    tmp_path: Path, name: str
) -> None:
    source = save(quadrants(), tmp_path / name)
    with pytest.raises(EditFailed, match="use JPEG, PNG, WebP, AVIF, GIF or TIFF"):
        edit(source, "flip=h")


def test_a_missing_file_is_not_blamed_on_the_image(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        edit(tmp_path / "gone.png", "flip=h")


def test_a_failed_edit_leaves_no_file(tmp_path: Path) -> None:
    source = save(quadrants(), tmp_path / "q.png")
    with pytest.raises(EditFailed):
        edit(source, "crop=70,0,20,10")
    assert [path.name for path in tmp_path.iterdir()] == ["q.png"]


@pytest.mark.parametrize(("format", "side"), [("avif", 65_537), ("webp", 16_384)])
def test_what_an_encoder_refuses_fails_saying_so_and_leaves_no_file(
    tmp_path: Path, format: str, side: int
) -> None:
    """libavif refuses a side over 65,536 pixels, and gives up when libaom runs out of the
    edit's memory on a large animation ("Encoding of color planes failed"), with a
    RuntimeError: the edit failed as an internal error (a 500) where WebP's ValueError, for
    its own limit, said what was wrong. Reached with EDITROOM_MAX_OUTPUT_SIDE set that high."""
    wide = Limits(max_pixels=4_000_000, max_output_side=70_000, max_video_seconds=1,
                  max_operations=5)  # fmt: skip
    source = save(Image.new("RGB", (side, 2)), tmp_path / "wide.png")
    with pytest.raises(EditFailed, match=f"^the result could not be written as {format}: .*; "):
        edit(source, f"format={format}", limits=wide)
    assert [path.name for path in tmp_path.iterdir()] == ["wide.png"]


@pytest.fixture
def drafts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes JPEG files were asked to decode at."""
    asked: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def draft(
        self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int, float, float]] | None:
        assert size is not None
        asked.append(size)
        return original(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    return asked


def test_a_jpeg_being_reduced_is_decoded_at_a_reduced_scale(
    tmp_path: Path, drafts: list[tuple[int, int]]
) -> None:
    photo = quadrants((1600, 1200))
    source = save(photo, tmp_path / "photo.jpg", quality=95)
    result = edit(source, "resize=200x")
    assert drafts == [(200, 150)]
    assert result.size == (200, 150)
    assert mean_difference(result, photo.resize((200, 150), Image.Resampling.LANCZOS)) < 2


def detailed_photo(size: tuple[int, int]) -> Image.Image:
    """Edges at every scale (a fractal), gradients and sensor grain: what DCT scaling could
    blur or alias, unlike flat colours."""
    texture = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 100)
    grain = Image.effect_noise(size, 24)
    channels = [
        Image.linear_gradient("L").resize(size),
        Image.radial_gradient("L").resize(size),
        Image.linear_gradient("L").rotate(90).resize(size),
    ]
    return Image.merge(
        "RGB", [Image.blend(Image.blend(c, texture, 0.35), grain, 0.25) for c in channels]
    )


def test_a_reduced_decode_looks_like_the_full_decode_resized(
    tmp_path: Path, drafts: list[tuple[int, int]]
) -> None:
    """JPEG's 1/4 scale decode (1000x750 here) then Lanczos to 800 wide, against the whole
    4000x3000 decoded and resized with Lanczos: the same size, and the same picture to the eye
    (SSIM of the luma, as quality=auto measures it, and PSNR of the pixels). Decoding at 1/8
    and enlarging would fall short of both (about 0.988 and 46 dB)."""
    source = save(detailed_photo((4000, 3000)), tmp_path / "detail.jpg", quality=90)
    roomy = Limits(
        max_pixels=13_000_000, max_output_side=3000, max_video_seconds=1, max_operations=5
    )
    result = edit(source, "resize=800x&format=png", limits=roomy)  # lossless: pixels as made
    with Image.open(source) as full:
        expected = full.resize((800, 600), Image.Resampling.LANCZOS)
    assert drafts == [(800, 600)]
    assert result.size == (800, 600)
    assert ssim(luma(result), luma(expected)) >= 0.99
    squared = np.square(np.asarray(result, float) - np.asarray(expected, float)).mean()
    assert 10 * np.log10(255**2 / squared) >= 48  # dB


def test_a_reduced_decode_gives_the_same_size_as_a_full_one(
    tmp_path: Path, drafts: list[tuple[int, int]]
) -> None:
    """DCT scaling rounds sides up (4001 / 4 is 1001); sizes come from the full image."""
    source = save(quadrants((4001, 3000)), tmp_path / "odd.jpg")
    roomy = Limits(
        max_pixels=13_000_000, max_output_side=3000, max_video_seconds=1, max_operations=5
    )
    assert edit(source, "resize=800x", limits=roomy).size == (800, 600)
    assert edit(source, "resize=500x500&fit=cover", limits=roomy).size == (500, 500)
    assert len(drafts) == 2


def test_a_reduced_decode_respects_exif_orientation(
    tmp_path: Path, drafts: list[tuple[int, int]]
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored 1600x1200, shown 1200x1600
    source = save(quadrants((1600, 1200)), tmp_path / "turned.jpg", exif=exif.tobytes())
    result = edit(source, "resize=x400")
    assert result.size == (300, 400)
    assert drafts == [(400, 300)]
    assert shows(result, (QUADRANTS[2], QUADRANTS[0], QUADRANTS[3], QUADRANTS[1]))


@pytest.mark.parametrize(
    "query", ["flip=h&resize=200x", "resize=2000x&upscale=true", "crop=0,0,800,600"]
)
def test_no_reduced_decode_when_the_first_operation_needs_every_pixel(
    tmp_path: Path, drafts: list[tuple[int, int]], query: str
) -> None:
    source = save(quadrants((1600, 1200)), tmp_path / "photo.jpg")
    edit(source, query, limits=LIMITS)
    assert drafts == []


def test_the_format_may_come_before_a_reducing_resize(
    tmp_path: Path, drafts: list[tuple[int, int]]
) -> None:
    source = save(quadrants((1600, 1200)), tmp_path / "photo.jpg")
    result = edit(source, "format=png&resize=100x")
    assert (result.format, result.size) == ("PNG", (100, 75))
    assert near(colour_at(result, 0.25, 0.25), (255, 0, 0, 255))
    assert drafts == [(100, 75)]
