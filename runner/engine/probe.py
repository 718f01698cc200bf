"""What an uploaded or produced file is, decided from its bytes: Pillow for images, PyAV for
videos. Refuses anything else (415) and anything broken or over a limit (422), with a reason.

Untrusted bytes: this runs in a sandboxed child process (runner.engine.sandbox), never in
the API."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image, UnidentifiedImageError

from runner.engine.damage import IMAGE_DAMAGE, said_of_the_data
from runner.engine.frames import (
    EDITED_PIXELS_PER_LIMIT,
    EDITED_TOGETHER,
    MAX_ANIMATION_FRAMES,
    Frames,
    read_frames,
)
from runner.engine.ops.base import MediaKind
from service.kernel.errors import (
    InvalidMedia,
    UnsupportedMedia,
    from_the_system,
    io_trouble,
    reason,
)

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "AVIF")
VIDEO_CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
    "matroska,webm": "video/x-matroska",
    "mpegts": "video/mp2t",
    "avi": "video/x-msvideo",
    "ogg": "video/ogg",
}
# What audio=extract writes (runner.engine.video.codecs.EXTRACT_MUXER), as FFmpeg reads it.
AUDIO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4", "ogg": "audio/ogg", "mp3": "audio/mpeg"}
ACCEPTED = (
    "images (JPEG, PNG, WebP, GIF, TIFF, AVIF) and videos (MP4, MOV, WebM, MKV, MPEG-TS, AVI, Ogg)"
)
UNDAMAGED = f"complete, undamaged {ACCEPTED}"  # what is accepted of a file refused as damaged
INTACT = f"accepted: {UNDAMAGED}"  # how such a refusal's message ends
EXIF_ORIENTATION = 0x0112
SWAPS_SIDES = {5, 6, 7, 8}  # EXIF orientations that turn the picture a quarter
TRUNCATION_TOLERANCE_SECONDS = 1.0
# ISO BMFF major brands of images (HEIF): the image reader had such a file first. FFmpeg reads
# their picture as a video of one frame, so one the image reader refused was stored as video/mp4.
AVIF_BRANDS = frozenset({"avif", "avis"})
HEIF_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"})
# FFmpeg reads a still image through a demuxer named for its format, `<format>_pipe`
# (bmp_pipe, png_pipe, ...), or for a few through one of their own: the image format they say.
IMAGE_PIPE_SUFFIX = "_pipe"
IMAGE_DEMUXERS = {"gif": "GIF", "apng": "PNG", "ico": "ICO"}
# The first bytes of the formats above: a file that starts like one but cannot be read is a
# broken image or video (422), not some other kind of file (415).
SIGNATURES = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG"),
    (0, b"GIF8"),
    (8, b"WEBP"),
    (0, b"II*\x00"),  # TIFF, little-endian
    (0, b"MM\x00*"),  # TIFF, big-endian
    (4, b"ftyp"),  # MP4, MOV, AVIF
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska, WebM
    (0, b"\x47"),  # MPEG-TS sync byte
    (8, b"AVI "),
    (0, b"OggS"),
)


@dataclass(frozen=True, slots=True)
class MediaFacts:
    kind: MediaKind
    content_type: str
    width: int | None  # None: an audio file (audio=extract)
    height: int | None
    duration_seconds: float | None = None
    frame_rate: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(
    path: Path,
    *,
    max_pixels: int,
    max_video_seconds: float,
    verify: bool = True,
    max_frame_pixels: int | None = None,
    sound_alone: bool = False,
) -> MediaFacts:
    """What the file is. verify=False skips decoding every frame of an image: for a file
    editroom has just encoded itself, the header says all there is to know. max_frame_pixels
    bounds what verifying an animation may decode: its canvas's pixels times its frames.
    sound_alone: an audio file is accepted (audio=extract makes them; uploads are refused), as
    media of kind video with no picture (no width, height or video codec)."""
    try:
        return probe_image(
            path, max_pixels=max_pixels, verify=verify, max_frame_pixels=max_frame_pixels
        )
    except UnidentifiedImageError:
        pass
    return probe_video(
        path, max_pixels=max_pixels, max_video_seconds=max_video_seconds, sound_alone=sound_alone
    )


def probe_image(
    path: Path, *, max_pixels: int, verify: bool = True, max_frame_pixels: int | None = None
) -> MediaFacts:
    with _own_pixel_limit():
        try:
            with Image.open(path, formats=IMAGE_FORMATS) as image:
                return _image_facts(
                    image, path, max_pixels=max_pixels, verify=verify,
                    max_frame_pixels=max_frame_pixels,
                )  # fmt: skip
        except UnidentifiedImageError:
            raise
        except IMAGE_DAMAGE as exc:
            if from_the_system(exc):
                raise
            raise InvalidMedia(
                f"the image is truncated or corrupt: {reason(exc)}", accepted=UNDAMAGED
            ) from None


@contextmanager
def _own_pixel_limit() -> Iterator[None]:
    """Pillow's fixed bomb check would refuse before we could say the size and our limit;
    ours (_check_pixels) runs on the header, before any decoding."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _image_facts(
    image: Image.Image,
    path: Path,
    *,
    max_pixels: int,
    verify: bool,
    max_frame_pixels: int | None,
) -> MediaFacts:
    frames = read_frames(image, path)
    _check_frames(frames, max_pixels=max_pixels)
    if verify and max_frame_pixels is not None:
        _check_frame_pixels(frames, max_frame_pixels)
    if image.format in EDITED_TOGETHER:  # an MPO's other pictures are not edited
        _check_editable_together(frames, max_pixels=max_pixels)
    for frame in range(frames.count) if verify else ():  # decoding every frame finds truncation
        image.seek(frame)
        image.load()
    width, height = frames.sizes[0]
    if verify and image.format == "JPEG":
        _check_jpeg_data(path, width, height)
    if image.getexif().get(EXIF_ORIENTATION) in SWAPS_SIDES:
        width, height = height, width
    assert image.format is not None
    return MediaFacts(
        kind=MediaKind.IMAGE,
        content_type=Image.MIME[image.format],
        width=width,
        height=height,
    )


def probe_video(
    path: Path, *, max_pixels: int, max_video_seconds: float, sound_alone: bool = False
) -> MediaFacts:
    try:
        # Metadata not in UTF-8 (a Latin-1 title) is read with replacement characters, not
        # refused: PyAV's strict decoding would raise UnicodeDecodeError, no FFmpegError.
        container = av.open(str(path), metadata_errors="replace")
    except av.FFmpegError as exc:
        if io_trouble(exc) and not said_of_the_data(exc, path):
            raise
        if _starts_like_media(path):
            raise InvalidMedia(
                f"the file is truncated or corrupt: {reason(exc)}", accepted=UNDAMAGED
            ) from None
        raise UnsupportedMedia(
            "not an image or a video editroom can read", accepted=ACCEPTED
        ) from None
    with container:
        _refuse_images(container)
        content_type = VIDEO_CONTAINERS.get(container.format.name)
        if sound_alone and not container.streams.video and container.streams.audio:
            return _audio_facts(container)
        if content_type is None:
            raise UnsupportedMedia(
                f"the {container.format.long_name} format is not supported", accepted=ACCEPTED
            )
        return _video_facts(container, path, content_type, max_pixels, max_video_seconds)


def _refuse_images(container: Any) -> None:
    """A file branded an image, or that FFmpeg reads as one, is judged as one: an AVIF (or a
    PNG, ...) the image reader refused is a broken one (422), and other HEIF (a phone's HEIC),
    or a BMP, is a kind editroom does not take (415), said so in our words, not in the name
    of FFmpeg's demuxer ("the piped bmp sequence format")."""
    brand = container.metadata.get("major_brand", "").strip()
    if brand in AVIF_BRANDS:
        raise InvalidMedia("the AVIF image is truncated or corrupt", accepted=UNDAMAGED)
    if brand in HEIF_BRANDS:
        raise UnsupportedMedia(
            f"HEIF images (brand {brand!r}: a phone's HEIC photo, say) are not supported",
            accepted=ACCEPTED,
        )
    image_format = _image_format(container.format.name)
    if image_format in IMAGE_FORMATS:  # given to the image reader, which could not read it
        raise InvalidMedia(f"the {image_format} image is truncated or corrupt", accepted=UNDAMAGED)
    if image_format is not None:
        raise UnsupportedMedia(
            f"{image_format} is an image format editroom does not read", accepted=ACCEPTED
        )


def _image_format(demuxer: str) -> str | None:
    """The image format of FFmpeg's demuxer for one (as Pillow names those it shares), None
    for a demuxer of video, sound or anything else."""
    if demuxer.endswith(IMAGE_PIPE_SUFFIX):
        return demuxer.removesuffix(IMAGE_PIPE_SUFFIX).upper()
    return IMAGE_DEMUXERS.get(demuxer)


def _video_facts(
    container: Any, path: Path, content_type: str, max_pixels: int, max_video_seconds: float
) -> MediaFacts:
    video = picture_stream(container)
    if video is None:
        raise UnsupportedMedia("the file has no video stream", accepted=ACCEPTED)
    audio = next(iter(container.streams.audio), None)
    for stream in (video, audio):
        if stream is not None and stream.codec_context is None:  # no decoder, or no codec
            raise InvalidMedia(
                f"the {stream.type} stream cannot be decoded: its codec is unknown, or the file "
                "is truncated or corrupt",
                accepted=UNDAMAGED,
            )
    width, height = video.codec_context.width, video.codec_context.height
    _check_pixels(width, height, max_pixels)
    declared = declared_seconds(container, video, audio)
    if declared is not None and declared > max_video_seconds:
        raise InvalidMedia(
            f"the video lasts {declared:.0f} s; the limit is {max_video_seconds:.0f} s "
            "(EDITROOM_MAX_VIDEO_SECONDS)"
        )
    rotation, reach = _check_integrity(container, video, audio, declared)
    _check_reach(reach, declared, max_video_seconds)
    measured = _measured_seconds(reach, video, max_video_seconds) if declared is None else None
    if rotation % 180 == 90:
        width, height = height, width
    return MediaFacts(
        kind=MediaKind.VIDEO,
        content_type=_refined_content_type(content_type, container, path),
        width=width,
        height=height,
        duration_seconds=declared if declared is not None else measured,
        frame_rate=_frame_rate(video),
        video_codec=_codec_name(video),
        audio_codec=_codec_name(audio) if audio is not None else None,
    )


def _audio_facts(container: Any) -> MediaFacts:
    """An audio file editroom wrote itself (audio=extract)."""
    audio = container.streams.audio[0]
    return MediaFacts(
        kind=MediaKind.VIDEO,
        content_type=AUDIO_CONTAINERS[container.format.name],
        width=None,
        height=None,
        duration_seconds=declared_seconds(container, audio),
        audio_codec=_codec_name(audio),
    )


def _codec_name(stream: Any) -> str:
    """The codec's own name (av1, mp3, opus), not the decoder's FFmpeg chose (libdav1d,
    mp3float, libopus)."""
    return str(stream.codec_context.codec.canonical_name)


@dataclass(frozen=True, slots=True)
class Reach:
    """How far a video's data plays, in seconds from its start, read from its packets."""

    picture: float
    sound: float
    timed_pictures: int
    """The picture's packets that say their time: none, and its reach says nothing."""

    @property
    def longest(self) -> float:
        return max(self.picture, self.sound)


def _check_integrity(
    container: Any, video: Any, audio: Any | None, duration: float | None
) -> tuple[int, Reach]:
    """Read every packet of the picture and the sound (decoding only until the first frame);
    return that frame's rotation in degrees (phone videos carry it as a display matrix) and
    how far the data reaches, which the header's duration may not say."""
    first_frame = None
    # Read before demuxing: FFmpeg sets a start it did not know at opening while demuxing,
    # to a later packet's time (a Matroska of one frame every 5 s seemed to end at 5 s of 20).
    start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
    ends = {video.index: 0.0, **({audio.index: 0.0} if audio is not None else {})}
    timed_pictures = 0
    try:
        for packet in container.demux(*(s for s in (video, audio) if s is not None)):
            if packet.pts is not None and packet.time_base is not None:
                end = (packet.pts + (packet.duration or 0)) * packet.time_base
                ends[packet.stream.index] = max(ends[packet.stream.index], float(end))
                timed_pictures += packet.stream.index == video.index
            if first_frame is None and packet.stream.index == video.index:
                first_frame = next(iter(packet.decode()), None)
    except av.FFmpegError as exc:
        if io_trouble(exc) and not said_of_the_data(exc, Path(container.name)):
            raise
        raise InvalidMedia(f"the video is corrupt: {reason(exc)}", accepted=UNDAMAGED) from None
    if first_frame is None:
        raise InvalidMedia("the video has no decodable frame", accepted=UNDAMAGED)
    reach = Reach(
        ends[video.index] - start, ends[audio.index] - start if audio else 0.0, timed_pictures
    )
    if not timed_pictures or reach.picture < 0:  # a length below 0 is no length
        raise InvalidMedia(
            "the video has no playable length: its picture has no timed data after its start "
            f"({start:.1f} s) to say how long it plays",
            accepted=UNDAMAGED,
        )
    # The data of the stream that plays longest (a picture may end before its sound, its last
    # frame on screen until the sound ends) reaches the length declared, the longest's too.
    if duration is not None and reach.longest < duration - _tolerance(duration):
        raise InvalidMedia(
            f"the video is truncated: its data ends at {reach.longest:.1f} s of {duration:.1f} s",
            accepted=UNDAMAGED,
        )
    rotation: float = first_frame.rotation or 0.0
    return round(rotation) % 360, reach


def _measured_seconds(reach: Reach, video: Any, max_video_seconds: float) -> float:
    """The length recorded of a video whose header declares none: how far its picture or its
    sound plays, whichever plays longer (a player holds the last frame until the sound ends),
    never 0 s. A recorded 0 is read as no length (known_seconds), and an edit of such a media is
    given the time of the longest video allowed. A picture that plays no further than its start
    is one frame whose packet says no length (a MediaRecorder's WebM of a single frame): it
    lasts one frame at its stream's rate, within the limit, or until its sound ends. More
    frames than one at the start, or no rate, and nothing says which is shown how long:
    refused, whatever the sound."""
    if reach.picture > 0:
        return reach.longest
    rate = _frame_rate(video)
    if reach.timed_pictures == 1 and rate:
        return max(reach.sound, min(1 / rate, max_video_seconds))
    raise InvalidMedia(
        "the video has no playable length: its header declares none and its picture's data "
        "plays no further than its start",
        accepted=UNDAMAGED,
    )


def _check_reach(reach: Reach, declared: float | None, max_video_seconds: float) -> None:
    """Refused when the picture or the sound plays past the limit, whatever the header says
    (a header may say 1 s of hours of data, which a player plays). The header's duration is
    still the one recorded: an edit reads a source no further than it. A header that declares
    none (a live WebM, as a browser's MediaRecorder writes it; 0 s, see declared_seconds) has
    the data's reach recorded instead (its longest stream's), as an edit measures it."""
    if reach.longest > max_video_seconds:
        said = f", though its header declares {declared:.1f} s" if declared is not None else ""
        raise InvalidMedia(
            f"the video's data plays for {reach.longest:.1f} s{said}; the limit is "
            f"{max_video_seconds:.0f} s (EDITROOM_MAX_VIDEO_SECONDS)"
        )


def _tolerance(duration: float) -> float:
    """How far a video's data may end from its declared duration and still be taken as it."""
    return max(TRUNCATION_TOLERANCE_SECONDS, duration * 0.05)


def _starts_like_media(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(16)
    return any(head[offset : offset + len(magic)] == magic for offset, magic in SIGNATURES)


def _check_frames(frames: Frames, *, max_pixels: int) -> None:
    """At most so many frames, each within the pixel limit: every page of a TIFF and every
    picture of an MPO, not only the first."""
    if frames.count > MAX_ANIMATION_FRAMES:
        raise InvalidMedia(
            f"the image has {frames.count:,} {frames.noun}s or more",
            accepted=f"at most {MAX_ANIMATION_FRAMES:,}",
        )
    for index, (width, height) in enumerate(frames.sizes):
        which = frames.named(index) if frames.count > 1 else None
        _check_pixels(width, height, max_pixels, which=which)


def _check_frame_pixels(frames: Frames, max_frame_pixels: int) -> None:
    """Decoding an animation costs its canvas for every frame, however small the frames
    themselves: 2,000 frames of one pixel on a 7000x7000 canvas is a minute of work. A TIFF's
    pages, or an MPO's pictures, cost each their own size."""
    if frames.pixels > max_frame_pixels:
        raise InvalidMedia(
            f"the image declares {frames.declared()}, {frames.pixels:,} pixels to decode; the "
            f"limit is {max_frame_pixels:,} (EDITROOM_MAX_FRAME_PIXELS); refused before "
            f"decoding any {frames.noun}"
        )


def _check_editable_together(frames: Frames, *, max_pixels: int) -> None:
    """What an edit holds at once: frames of one size (operations change them all alike),
    EDITED_PIXELS_PER_LIMIT times EDITROOM_MAX_PIXELS of them in all. Refused here, an upload
    an edit would refuse is not accepted as if it could be edited."""
    if (unlike := frames.unlike_sizes()) is not None:
        raise InvalidMedia(unlike)
    budget = EDITED_PIXELS_PER_LIMIT * max_pixels
    if frames.pixels > budget:
        raise InvalidMedia(
            f"the image declares {frames.declared()}, {frames.pixels:,} pixels; an edit holds "
            f"all of them at once, at most {budget:,} ({EDITED_PIXELS_PER_LIMIT} times "
            f"EDITROOM_MAX_PIXELS); refused before decoding any {frames.noun}",
            accepted=f"fewer or smaller {frames.noun}s",
        )


def _check_jpeg_data(path: Path, width: int, height: int) -> None:
    """libjpeg (Pillow) fills a picture whose data ends early with grey, and says nothing,
    even of data that could not fill a tenth of the size the header declares. FFmpeg's
    decoder, told to stop at any error, refuses it. FFmpeg is told the file is a JPEG, as
    Pillow found, not left to guess from its first bytes: a JPEG whose markers before its
    picture fill them (a thousand comments) was taken for AMR-WB sound, and refused as
    "tuple index out of range"."""
    try:
        with av.open(str(path), format="jpeg_pipe", metadata_errors="replace") as container:
            stream = container.streams.video[0]
            stream.codec_context.options = {"err_detect": "explode"}
            for packet in container.demux(stream):
                packet.decode()
    except av.FFmpegError as exc:
        if io_trouble(exc) and not said_of_the_data(exc, path):
            raise
        raise InvalidMedia(
            f"the image is truncated or corrupt: its data does not fill the {width}x{height} "
            "picture its header declares",
            accepted=UNDAMAGED,
        ) from None


def _check_pixels(width: int, height: int, max_pixels: int, *, which: str | None = None) -> None:
    """`which`: the frame of several this is, named first in a refusal ("page 2 of 13")."""
    named = f"{which}: " if which else ""
    if width <= 0 or height <= 0:
        raise InvalidMedia(f"{named}the picture has no size ({width}x{height})", accepted=UNDAMAGED)
    if width * height > max_pixels:
        raise InvalidMedia(
            f"{named}{width}x{height} is {width * height:,} pixels; the limit is "
            f"{max_pixels:,} (EDITROOM_MAX_PIXELS)"
        )


def picture_stream(container: InputContainer) -> VideoStream | None:
    """The video stream the upload checks and an edit reads: the first that is not cover art.
    FFmpeg lists an MP4's or a Matroska file's attached picture as a video stream of one frame,
    and it may come before the video (an MP4 whose metadata box precedes its tracks)."""
    return next((s for s in container.streams.video if not _is_cover_art(s)), None)


def _is_cover_art(stream: VideoStream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def declared_seconds(container: Any, *streams: Any) -> float | None:
    """How long the header says the media lasts, as a player shows it: the longest of what it
    declares of `streams` (a video's picture and sound, None for none; an audio file's sound),
    else of the file. An MP4's or a MOV's tracks each declare their own length, and a picture
    of one frame over 5 s of sound lasts 5 s, not its picture's 0.083 s; FFmpeg gives a
    Matroska's streams the file's length. Streams editroom does not read (subtitles, data) are
    not counted: the upload checks that the data read reaches what is declared.
    None: it says nothing (a live WebM), and the media records how far its data plays instead
    (_check_reach), which an edit then takes as its length rather than measure it again
    (runner.engine.video.probe). A duration of 0 s or less says nothing either: taken at its
    word, a file that declares 0 s (an MP4 whose mvhd and mdhd say 0) had 0 s recorded, its
    length unmeasured and its truncation unchecked, and every trim of it refused as starting
    past its end."""
    declared = [
        seconds
        for stream in streams
        if stream is not None and (seconds := _seconds(stream.duration, stream.time_base))
    ]
    if declared:
        return max(declared)
    return _seconds(container.duration, Fraction(1, av.time_base))


def _seconds(ticks: int | None, time_base: Fraction | None) -> float | None:
    """A declared duration in seconds; None when missing, 0 or negative."""
    if ticks is None or time_base is None or ticks <= 0:
        return None
    return float(ticks * time_base)


def _frame_rate(video: Any) -> float | None:
    rate = video.average_rate or video.guessed_rate
    return float(rate) if rate else None


def _refined_content_type(content_type: str, container: Any, path: Path) -> str:
    if content_type == "video/mp4" and container.metadata.get("major_brand", "").strip() == "qt":
        return "video/quicktime"
    if content_type == "video/x-matroska":
        with path.open("rb") as handle:
            if b"webm" in handle.read(64):
                return "video/webm"
    return content_type
