"""What the unit tests of several modules share."""

import pytest
from PIL import ImageFile, TiffImagePlugin


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "load", refuse)  # libtiff's own path
