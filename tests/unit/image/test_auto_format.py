"""format=auto chooses from the Accept header (and PNG for alpha when nothing better is
accepted); quality=auto finds a smaller file than quality=95 that still looks the same."""

from pathlib import Path
from typing import Any

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


# The option each format's trials are encoded with, and its fastest value: (Pillow's name, option,
# value). The result is encoded without it, at the encoder's usual setting.
FAST_TRIALS = {"avif": ("AVIF", "speed", 10), "webp": ("WEBP", "method", 0)}


@pytest.fixture
def fast_from_96x64(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast trials from the noisy gradient's 96x64 pixels, for every format that has them."""
    for format in encoding.TRIAL_OPTIONS:
        monkeypatch.setitem(encoding.FAST_TRIALS_FROM_PX, format, 96 * 64)


@pytest.mark.parametrize("format", FAST_TRIALS)
@pytest.mark.usefixtures("fast_from_96x64")
def test_quality_auto_encodes_the_result_at_the_usual_setting_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format: str
) -> None:
    """AVIF's trials are encoded at libaom's fastest speed, WebP's at libwebp's fastest method:
    six at the usual setting took 90 s of CPU (AVIF) and 15-22 s (WebP) for a 28 MP picture,
    now 23 s and 8-13 s. Only the result is encoded at the usual setting, at the quality
    found: once, when it keeps the target."""
    source = noisy_gradient(tmp_path / "noisy.png")
    encodes = encodes_of(monkeypatch, format)
    result = edit_path(source, f"format={format}&quality=auto", out_dir=folder(tmp_path / "auto"))
    *trials, (quality, setting) = encodes
    assert 1 <= len(trials) <= encoding.AUTO_QUALITY_ENCODES
    assert {trial_setting for _, trial_setting in trials} == {FAST_TRIALS[format][2]}
    assert setting is None  # Pillow's usual setting
    assert similarity(source, result, format) >= encoding.SSIM_TARGET
    assert quality in {*(q for q, _ in trials), encoding.AUTO_QUALITY_RANGE[1]}


@pytest.mark.parametrize("format", FAST_TRIALS)
@pytest.mark.usefixtures("fast_from_96x64")
def test_quality_auto_encodes_higher_when_its_result_misses_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format: str
) -> None:
    """A trial at the fastest setting may keep the target at a quality whose result, at the
    usual setting, does not (libaom's and libwebp's fast SSIM is mostly, not always, the lower):
    the result is measured as the trials are, and encoded CONFIRM_STEP higher when it misses.
    It was written unmeasured."""
    source = noisy_gradient(tmp_path / "noisy.png")
    encodes = encodes_of(monkeypatch, format)
    measured = encoding.ssim
    missed = the_first_result_missing(monkeypatch, encodes)
    result = edit_path(source, f"format={format}&quality=auto", out_dir=folder(tmp_path / "auto"))
    *trials, first, second = encodes
    assert {trial_setting for _, trial_setting in trials} == {FAST_TRIALS[format][2]}
    assert missed == [first]
    assert first[1] is None  # the result, at the usual setting
    assert second == (first[0] + encoding.CONFIRM_STEP, None)
    assert measured(*lumas(source, result, format)) >= encoding.SSIM_TARGET


def test_quality_auto_searches_a_small_webp_at_the_usual_method_and_writes_its_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below FAST_TRIALS_FROM_PX a WebP's trials are encoded as the result is (libwebp's method 0
    found qualities up to 14 higher, files up to a fifth larger, for a second of CPU saved): the
    lowest trial keeping the target is the result, with no encode more."""
    source = noisy_gradient(tmp_path / "noisy.png")
    assert encoding.FAST_TRIALS_FROM_PX["webp"] > 96 * 64
    encodes = encodes_of(monkeypatch, "webp")
    result = edit_path(source, "format=webp&quality=auto", out_dir=folder(tmp_path / "auto"))
    assert 1 <= len(encodes) <= encoding.AUTO_QUALITY_ENCODES
    assert {setting for _, setting in encodes} == {None}
    qualities = [quality for quality, _ in encodes]
    assert len(set(qualities)) == len(qualities)  # no quality encoded again: a trial is written
    assert similarity(source, result, "webp") >= encoding.SSIM_TARGET


@pytest.mark.usefixtures("fast_from_96x64")
def test_quality_auto_measures_an_animated_webp_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow writes an animated WebP at method 0: its trials were encoded at method 4 and the
    animation written unmeasured. Now the whole animation, the result, is measured and encoded
    CONFIRM_STEP higher when its first frame misses the target (a large one's trials fast)."""
    with Image.open(noisy_gradient(tmp_path / "noisy.png")) as opened:
        frame = opened.convert("RGB")
    frames = [frame, frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT), frame.rotate(180)]
    source = save(frames[0], tmp_path / "noisy.apng", save_all=True, append_images=frames[1:])
    encodes = encodes_of(monkeypatch, "webp")
    missed = the_first_result_missing(monkeypatch, encodes)
    result = edit_path(source, "format=webp&quality=auto", out_dir=folder(tmp_path / "auto"))
    *trials, first, second = encodes
    assert {trial_setting for _, trial_setting in trials} == {0}
    assert missed == [first]
    assert second == (first[0] + encoding.CONFIRM_STEP, None)
    with Image.open(result) as made:
        assert (made.format, getattr(made, "n_frames", 1)) == ("WEBP", 3)


def noisy_gradient(path: Path) -> Path:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:96]
    gradient = np.stack([x * 2.5, y * 4.0, (x + y) * 1.5], axis=-1)
    noisy = np.clip(gradient + rng.normal(0, 20, gradient.shape), 0, 255).astype(np.uint8)
    return save(Image.fromarray(noisy), path)


def encodes_of(monkeypatch: pytest.MonkeyPatch, format: str) -> list[tuple[int, object]]:
    """(quality, the trials' option: FAST_TRIALS) of each encode in `format` from now on, in
    order."""
    encodes: list[tuple[int, object]] = []
    save_as = Image.Image.save
    pillow_name, option, _ = FAST_TRIALS[format]

    def counted(image: Image.Image, fp: Any, format: str | None = None, **options: Any) -> None:
        if format == pillow_name:
            encodes.append((options["quality"], options.get(option)))
        save_as(image, fp, format, **options)

    monkeypatch.setattr(Image.Image, "save", counted)
    return encodes


def the_first_result_missing(
    monkeypatch: pytest.MonkeyPatch, encodes: list[tuple[int, object]]
) -> list[tuple[int, object]]:
    """SSIM from now on, but the first result encoded at the usual setting (the last of
    `encodes` when it is measured) misses the target; returns that encode, once it has."""
    measured = encoding.ssim
    missed: list[tuple[int, object]] = []

    def missing_once(first: np.ndarray, second: np.ndarray) -> float:
        if encodes[-1][1] is None and not missed:
            missed.append(encodes[-1])
            return encoding.SSIM_TARGET - 0.001
        return measured(first, second)

    monkeypatch.setattr(encoding, "ssim", missing_once)
    return missed


def lumas(source: Path, result: Path, format: str) -> tuple[np.ndarray, np.ndarray]:
    with Image.open(source) as original, Image.open(result) as made:
        assert made.format == FAST_TRIALS[format][0]
        return encoding.luma(original), encoding.luma(made)


def similarity(source: Path, result: Path, format: str) -> float:
    return encoding.ssim(*lumas(source, result, format))


def test_ssim_tells_a_copy_from_noise() -> None:
    plane = np.asarray(pictures.astronaut().convert("L"), dtype=np.float64)
    noisy = np.clip(plane + np.random.default_rng(0).normal(0, 30, plane.shape), 0, 255)
    assert encoding.ssim(plane, plane) == pytest.approx(1.0)
    assert encoding.ssim(plane, noisy) < 0.7


def folder(path: Path) -> Path:
    path.mkdir()
    return path
