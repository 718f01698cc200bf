import pytest

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
