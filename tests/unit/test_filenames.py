import pytest

from runner.process.execute import output_names
from service.domain.library import clean_filename


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mp4", "clip.mp4"),
        ("bad\nname\x00.png", "badname.png"),
        ("  spaced.png  ", "spaced.png"),
        ("Ünïcødé 写真.png", "Ünïcødé 写真.png"),
        ("", None),
        (None, None),
        ("/", None),
        ("x" * 300 + ".png", "x" * 255),
    ],
)
def test_file_names_are_kept_as_data(given: str | None, kept: str | None) -> None:
    assert clean_filename(given) == kept


@pytest.mark.parametrize(
    ("source", "suffixes", "named"),
    [
        ("holiday.jpg", [".webp"], ["holiday-edited.webp"]),
        ("holiday-edited.webp", [".png"], ["holiday-edited.png"]),  # not -edited-edited
        ("holiday-edited.jpg", [".jpg", ".jpg"], ["holiday-01.jpg", "holiday-02.jpg"]),
        ("-edited.png", [".png"], ["media-edited.png"]),
        (None, [".mp4"], ["media-edited.mp4"]),
    ],
)
def test_an_edit_names_its_results_after_the_source(
    source: str | None, suffixes: list[str], named: list[str]
) -> None:
    assert output_names(source, suffixes) == named
