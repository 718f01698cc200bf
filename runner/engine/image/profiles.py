"""ICC colour profiles: which colour space one describes, and turning CMYK into RGB with it."""

import io
from functools import cache

from PIL import ImageCms

from runner.engine.image.engine import Frame

# Byte 16 of an ICC header names the data colour space, e.g. b"RGB ", b"GRAY", b"CMYK".
_SPACE_AT = slice(16, 20)
_SPACES_OF_MODES = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB", "RGBA": "RGB"}


def space(profile: bytes) -> str:
    return profile[_SPACE_AT].decode("ascii", "replace").strip()


def fits(profile: bytes, mode: str) -> bool:
    """Whether the profile describes pixels of this mode: a grey image made RGB by a colour
    operation (or the reverse) must not carry the old profile, which viewers would misapply."""
    return _SPACES_OF_MODES.get(mode) == space(profile)


def cmyk_to_rgb(frame: Frame, profile: bytes | None) -> Frame:
    """Print colours to screen colours through the image's own CMYK profile when it has one
    (the result is sRGB); Pillow's plain conversion otherwise."""
    if profile is not None and space(profile) == "CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(frame, source, _srgb(), outputMode="RGB")
        except (OSError, ImageCms.PyCMSError):
            converted = None  # a damaged profile: the plain conversion is still a fair result
        if converted is not None:
            return converted
    return frame.convert("RGB")


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
