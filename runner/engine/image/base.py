"""What an image operation adds to an Operation: how it changes a picture, and what the pipeline
may know about that before any pixel is decoded."""

from typing import ClassVar

from runner.engine.image.engine import Picture, Size
from runner.engine.ops.base import MediaKind, Operation


class ImageOperation(Operation):
    kind: ClassVar[MediaKind] = MediaKind.IMAGE

    def apply(self, picture: Picture) -> Picture:
        """The picture after this operation: every frame changed the same way."""
        raise NotImplementedError

    def output_size(self, size: Size) -> Size | None:
        """The size apply will make from a picture of `size`, worked out without pixels, so the
        pipeline can refuse an oversized result before making it; None when only the pixels
        can tell (and the result is no larger). Raise EditFailed when the operation cannot
        apply to that size, such as a crop outside the image."""
        return size

    def draft_size(self, size: Size) -> Size | None:
        """When this operation comes first and only needs the source at a smaller size, that
        size (at least as large in both directions): JPEG can then decode at a reduced scale."""
        return None
