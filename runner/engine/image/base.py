"""What an image operation adds to an Operation: how it changes a picture, and what the pipeline
may know about that before any pixel is decoded."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from uuid import UUID

from runner.engine.image import decoding
from runner.engine.image.engine import Frame, Picture, Size
from runner.engine.ops.base import NOTHING_KNOWN, Limits, MediaKind, Operation, SourceFacts
from service.kernel.errors import EditFailed, InvalidParameter


@dataclass(frozen=True, slots=True)
class Inputs:
    """The other media an edit reads (overlay), as local files the runner fetched."""

    paths: Mapping[UUID, Path] = field(default_factory=dict)
    max_pixels: int = 0

    def first_frame(self, media_id: UUID) -> Frame:
        path = self.paths.get(media_id)
        if path is None:
            raise EditFailed(f"the image {media_id} this edit reads was not provided")
        source = decoding.read(
            path, max_pixels=self.max_pixels, plan=lambda size: None, first_frame_only=True
        )
        return source.picture.first


class ImageOperation(Operation):
    kind: ClassVar[MediaKind] = MediaKind.IMAGE

    def apply(self, picture: Picture) -> Picture:
        """The picture after this operation: every frame changed the same way."""
        raise NotImplementedError

    def apply_with(self, picture: Picture, inputs: Inputs) -> Picture:
        """apply, for operations that also read other media (overlay)."""
        return self.apply(picture)

    def output_size(self, size: Size) -> Size | None:
        """The size apply will make from a picture of `size`, worked out without pixels, so the
        pipeline can refuse an oversized result before making it; None when only the pixels
        can tell (and the result is no larger). Raise EditFailed when the operation cannot
        apply to that size, such as a crop outside the image."""
        return size

    def check_in_edit(
        self, limits: Limits, *, later: Sequence[Operation], source: SourceFacts = NOTHING_KNOWN
    ) -> None:
        """Refuse, before the edit is queued, a result over max_pixels that the picture's known
        size already makes (the size as the operations before it leave it): the runner refuses
        it as the edit is planned (pipeline.py `_check_sizes`), after the image is fetched and
        (a PNG) decoded. Frames are not known here: the runner holds an animation's."""
        if source.width is None or source.height is None:
            return
        try:
            planned = self.output_size((source.width, source.height))
        except EditFailed:  # a crop outside: on_source says so
            return
        if planned is None or planned[0] * planned[1] <= limits.max_pixels:
            return
        width, height = planned
        raise InvalidParameter(
            self.name, self.written_value(),
            f"the result would be {width}x{height} ({decoding.mega(width * height)}) on this "
            f"{source.width}x{source.height} image, over the limit of "
            f"{decoding.mega(limits.max_pixels)} (EDITROOM_MAX_PIXELS)",
            accepted=f"a result of at most {limits.max_pixels:,} pixels",
        )  # fmt: skip

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """The size stays known while no operation changes it (output_size says: a flip
        keeps it, a resize or a turn by 90 degrees of a rectangle does not)."""
        if facts.width is None or facts.height is None:
            return SourceFacts()
        size = (facts.width, facts.height)
        try:
            kept = self.output_size(size) == size
        except EditFailed:  # the runner says why, with the pixels at hand
            kept = False
        return facts if kept else SourceFacts()

    def draft_size(self, size: Size) -> Size | None:
        """When this operation comes first and only needs the source at a smaller size, that
        size (at least as large in both directions): JPEG can then decode at a reduced scale."""
        return None
