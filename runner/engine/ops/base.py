"""What every operation is: a frozen pydantic model with its parameter name, the media kind it
applies to, the modifiers that refine it, and how to read it from a query-string value."""

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal, Self
from urllib.parse import quote
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter
from service.kernel.settings import Settings

# Left as they are in a written value: the language's own separators read better bare.
SAFE_IN_VALUE = ",:/"
# Pixels of the largest frame the highest level of every video codec here allows: H.264 6.2
# (139,264 macroblocks), HEVC 6.2, VP9 6.2 and AV1 6.3 all stop at 35,651,584 (8192x4352).
# Past it the encoders only warn and go on, their memory growing with the frame: x264 asked
# for 10000x5000 ran out of EDITROOM_EDIT_MEMORY_BYTES at its first frame, seconds in.
MAX_ENCODED_FRAME_PIXELS = 35_651_584

Progress = Callable[[float], None]
"""Called by pipelines with the fraction done, 0.0 to 1.0."""


@dataclass(frozen=True, slots=True)
class Product:
    """A file an edit made."""

    path: Path
    source_seconds: float | None = None  # a still's time in the source video


@dataclass(frozen=True, slots=True)
class Limits:
    """What one edit may cost; every operation and pipeline respects them."""

    max_pixels: int  # of any decoded image or video frame: decompression bombs stop here
    max_output_side: int  # width or height of anything an edit produces, in pixels
    max_video_seconds: float  # duration of a source video or of a result
    max_operations: int  # per edit

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            max_pixels=settings.max_pixels,
            max_output_side=settings.max_output_side,
            max_video_seconds=settings.max_video_seconds,
            max_operations=settings.max_operations,
        )

    def oversized(self, width: int, height: int) -> str | None:
        """What is wrong with a result of width x height pixels, None when nothing: a result
        known only as the edit runs is refused in these words by either engine."""
        if max(width, height) <= self.max_output_side:
            return None
        return (
            f"the result would be {width}x{height} pixels, and no side may be over "
            f"{self.max_output_side} (EDITROOM_MAX_OUTPUT_SIDE)"
        )

    def oversized_still(self, width: int, height: int) -> str | None:
        """What is wrong with a still of width x height pixels made from a video (Pillow
        writes it, so no codec's level holds it), None when nothing: more than max_pixels."""
        pixels = width * height
        if pixels <= self.max_pixels:
            return None
        return (
            f"a still of {width}x{height} would have {pixels:,} pixels, more than the "
            f"{self.max_pixels:,} a still may have (EDITROOM_MAX_PIXELS)"
        )

    def oversized_frames(self, width: int, height: int) -> str | None:
        """What is wrong with a video encoded in frames of width x height pixels, None when
        nothing: more than max_pixels, or than the largest frame any codec level allows,
        whichever is less. Said as a resize is asked for, or as the edit is planned when only
        the source's shape gives the size. (An image's limit is max_pixels alone.)"""
        pixels = width * height
        if pixels <= self.max_encoded_pixels:
            return None
        limit = (
            f"{self.max_pixels:,} (EDITROOM_MAX_PIXELS)"
            if self.max_pixels <= MAX_ENCODED_FRAME_PIXELS
            else f"{MAX_ENCODED_FRAME_PIXELS:,}, the largest frame the highest level of H.264, "
            "HEVC, VP9 or AV1 allows (8192x4352)"
        )
        return f"frames of {width}x{height} are {pixels:,} pixels, over the limit of {limit}"

    @property
    def max_encoded_pixels(self) -> int:
        """Pixels of a video frame an edit may encode (oversized_frames)."""
        return min(self.max_pixels, MAX_ENCODED_FRAME_PIXELS)

    def check_sides(
        self, parameter: str, written: str, *, width: int | None, height: int | None
    ) -> None:
        """Refuse `parameter=written` (a crop or a resize, of an image or a video) when it asks
        for a side over max_output_side, naming that side: the limit said one way for all."""
        for side, pixels in (("width", width), ("height", height)):
            if pixels is not None and pixels > self.max_output_side:
                raise InvalidParameter(
                    parameter, written,
                    f"a {side} of {pixels} pixels is over the limit of {self.max_output_side} "
                    "(EDITROOM_MAX_OUTPUT_SIDE)",
                    accepted=f"a width and a height of at most {self.max_output_side} pixels",
                )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What is known of an edit's source before it runs, from its media row: a picture's
    size as displayed (EXIF orientation applied, as the API reports it) and a video's
    duration. None: not known, or no longer true after an operation that changed it."""

    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


NOTHING_KNOWN = SourceFacts()  # what an edit knows of its source as it is parsed


def known_seconds(recorded: float | None) -> float | None:
    """A video's duration as its media row records it; None where the row knows none. A 0 s
    (or less) is no length: uploads before declared_seconds (runner.engine.probe) read a
    header's 0 as saying nothing recorded that 0 as it was. Such a row is read as of unknown
    length wherever a recorded duration is read: as the edit's SourceFacts before queueing
    (service.domain.source_facts), for the edit's time limit and by the edit's probe, which
    measures it (runner.engine.video.probe)."""
    return recorded if recorded is not None and recorded > 0 else None


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


Group = Literal["geometry", "colour", "text", "format", "cut", "convert", "stills", "other"]


class Operation(BaseModel):
    """One step of an edit. Subclasses set the class variables and `op: Literal[name]`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: str

    name: ClassVar[str]
    kind: ClassVar[MediaKind]
    syntax: ClassVar[str]  # what the query-string value looks like, e.g. "x,y,w,h"
    description: ClassVar[str]  # what it does, for people reading GET /operations
    example: ClassVar[str]  # a whole query string using it, e.g. "resize=800x&fit=cover"
    group: ClassVar[Group] = "other"
    # Its own value first, then the modifiers that refine it (fit, upscale for resize).
    parameters: ClassVar[tuple[Param, ...]] = ()
    terminal: ClassVar[bool] = False  # must come last
    # Its results are media of another kind (thumbnail: images); the operations after it are
    # of that kind and run on each result.
    produces: ClassVar[MediaKind | None] = None
    # Its results are sound alone, without a picture (audio=extract): no operation reads them.
    sound_alone: ClassVar[bool] = False
    # Its modifiers alone bring it in, its own value left out (vcodec without format).
    implied: ClassVar[bool] = False
    once: ClassVar[bool] = False  # at most once per edit (the result has one format)
    # A video's duration is the same after it (format, resize, crf): an operation after it
    # is judged against the source's duration (on_source). False unless said: judged by none.
    keeps_duration: ClassVar[bool] = False
    references: ClassVar[MediaKind | None] = None  # the kind media_references are; None: its own

    @classmethod
    def modifiers(cls) -> tuple[str, ...]:
        """The parameters that refine it, e.g. ("fit", "upscale") for resize."""
        return tuple(parameter.name for parameter in cls.parameters[1:])

    @classmethod
    def described(cls, limits: Limits) -> dict[str, Any]:
        """The operation as GET /operations shows it."""
        reads = cls.reads()
        return {
            "name": cls.name, "kind": cls.kind.value, "group": cls.group,
            "description": cls.description, "syntax": cls.syntax, "example": cls.example,
            "terminal": cls.terminal, "once": cls.once,
            "produces": None if cls.produces is None else cls.produces.value,
            "reads": None if reads is None else reads.value,
            "parameters": [parameter.described(limits) for parameter in cls.parameters],
        }  # fmt: skip

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        """Read the operation from its query parameter's value and its modifiers' values.

        Raise service.kernel.errors.InvalidParameter naming the parameter, the value and what is
        accepted; the helpers of runner.engine.ops.grammar do.
        """
        raise NotImplementedError

    @classmethod
    def from_modifiers(cls, modifiers: Mapping[str, str]) -> Self:
        """Read an `implied` operation from its modifiers alone."""
        raise NotImplementedError

    def to_query(self) -> str:
        """The operation as written in a query string, the inverse of from_query:
        `crop=80,60,160,120`, `resize=800x&fit=cover`, `headshot`. Values are escaped as a URL
        needs, except for the language's own separators."""
        return "&".join(
            name if value == "" else f"{name}={quote(value, safe=SAFE_IN_VALUE)}"
            for name, value in self.query_items()
        )

    def query_items(self) -> list[tuple[str, str]]:
        """The operation as query-string items, its own first, the inverse of from_query:
        [("resize", "800x"), ("fit", "cover")]; modifiers at their default are left out, and
        an optional value at its default is written as the name alone (headshot).

        Each parameter's value is read from the model's fields in the order the parameters
        are declared, as many fields as Param.held_in says, the fields taken in the order the
        operation's class declares them; an operation whose fields differ (a list, a value of
        its own syntax) overrides this."""
        fields = iter(_declared_fields(type(self)))
        items: list[tuple[str, str]] = []
        for position, parameter in enumerate(self.parameters):
            values = [getattr(self, next(fields)) for _ in range(parameter.held_in)]
            if not parameter.is_default(values):
                items.append((parameter.name, parameter.write(values)))
            elif position == 0:
                items.append((parameter.name, ""))
        return items

    def check_limits(self, limits: Limits) -> None:
        """Raise InvalidParameter when the operation as written exceeds a limit (a resize
        beyond max_output_side). What depends on the media is checked while running."""

    def check_in_edit(
        self, limits: Limits, *, later: Sequence["Operation"], source: SourceFacts = NOTHING_KNOWN
    ) -> None:
        """Raise InvalidParameter when the operation exceeds a limit that depends on what the
        edit makes of its result, `later` being the operations after it (a video's resize
        makes frames held to the codecs' largest, or a still held to max_pixels alone, as
        the edit's plan holds them), and `source` what is known of the picture it applies to
        (as on_source shows it: nothing as the edit is parsed, the media's facts before it
        is queued). By default nothing: check_limits holds the rest."""

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """Refuse (InvalidParameter) what the source's own facts make impossible already, so
        it is refused before it is queued (a trim starting after the video's end); then what
        is still known after this operation. An operation is shown the facts the operations
        before it left; one that changes a fact leaves it unknown (None), and none is judged
        against what is no longer true. By default: the duration if keeps_duration, no size
        (an image operation keeps the size it does not change: ImageOperation)."""
        return SourceFacts(duration_seconds=facts.duration_seconds if self.keeps_duration else None)

    def written_value(self) -> str:
        """Its own value as the query string writes it (`12.5,20` for trim=12.5,20)."""
        return self.query_items()[0][1]

    @classmethod
    def reads(cls) -> MediaKind | None:
        """The kind of the other media its value names (overlay: an image, concat: videos);
        None when it names none."""
        names_media = any(parameter.type in ("uuid", "media") for parameter in cls.parameters)
        return (cls.references or cls.kind) if names_media else None

    def media_references(self) -> tuple[UUID, ...]:
        """Other media this operation reads (concat); the runner fetches them first."""
        return ()

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _declared_fields(operation: type[Operation]) -> list[str]:
    """The operation's fields (but op) in the order its own class declares them, then any it
    only inherits: pydantic keeps a redeclared field where the base class first put it."""
    own = [name for name in inspect.get_annotations(operation) if name in operation.model_fields]
    inherited = [name for name in operation.model_fields if name not in own]
    return [name for name in own + inherited if name != "op"]
