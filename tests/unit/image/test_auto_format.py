"""format=auto chooses from the Accept header (and PNG for alpha when nothing better is
accepted); quality=auto finds a smaller file than quality=95 that still looks the same."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from runner.engine.image import encoding
from runner.engine.image.format import Format, chosen_format
from service.kernel.errors import InvalidParameter
from tests.unit.image import pictures
from tests.unit.image.pictures import edit, edit_path, save


@pytest.mark.parametrize(
    ("accept", "format"),
    [("image/avif,image/webp,image/apng,*/*;q=0.8", "avif"), ("image/webp", "webp"),
     ("image/avif;q=0, image/webp;q=0.5", "webp"), ("image/*", "jpeg"), ("", "jpeg")],
)  # fmt: skip
def test_the_accept_header_chooses(accept: str, format: str) -> None:
    assert chosen_format(accept) == format
    resolved = Format.from_query("auto", {}).resolved(accept)
    assert (resolved.format, resolved.auto) == (format, True)


def test_auto_writes_png_for_alpha_when_only_jpeg_is_accepted(tmp_path: Path) -> None:
    clear = save(Image.new("RGBA", (20, 20), (255, 0, 0, 100)), tmp_path / "clear.png")
    assert edit(clear, "format=auto").format == "PNG"
    opaque = save(Image.new("RGB", (20, 20), (255, 0, 0)), tmp_path / "opaque.png")
    assert edit(opaque, "format=auto").format == "JPEG"


@pytest.mark.parametrize("query", ["format=png&quality=auto", "format=jpeg&quality=best"])
def test_quality_auto_needs_a_lossy_format(tmp_path: Path, query: str) -> None:
    with pytest.raises(InvalidParameter, match="quality"):
        edit(save(Image.new("RGB", (8, 8)), tmp_path / "p.png"), query)


@pytest.mark.parametrize("format", ["jpeg", "webp"])
def test_quality_auto_is_smaller_and_keeps_the_ssim_target(tmp_path: Path, format: str) -> None:
    source = save(pictures.astronaut(), tmp_path / "astronaut.png")
    high = edit_path(source, f"format={format}&quality=95", out_dir=folder(tmp_path / "high"))
    auto = edit_path(source, f"format={format}&quality=auto", out_dir=folder(tmp_path / "auto"))
    assert auto.stat().st_size < high.stat().st_size * 0.8
    with Image.open(source) as original, Image.open(auto) as result:
        similarity = encoding.ssim(encoding.luma(original), encoding.luma(result))
    assert similarity >= encoding.SSIM_TARGET


def test_ssim_tells_a_copy_from_noise() -> None:
    plane = np.asarray(pictures.astronaut().convert("L"), dtype=np.float64)
    noisy = np.clip(plane + np.random.default_rng(0).normal(0, 30, plane.shape), 0, 255)
    assert encoding.ssim(plane, plane) == pytest.approx(1.0)
    assert encoding.ssim(plane, noisy) < 0.7


def folder(path: Path) -> Path:
    path.mkdir()
    return path
