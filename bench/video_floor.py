"""The frame-accurate trim's physical floor: the work no way of making that trim can skip, in
a bare PyAV loop. At each cut it decodes from the keyframe before the cut what the cut needs
and encodes the frames the result re-encodes, with the encoder settings editroom splices with;
it copies, muxes and writes nothing (the middle's packets and the sound are not read at all).

At START: the packets from the keyframe at or before START up to the next keyframe, less those
shown before START that no other picture refers to; the frames from START on are encoded.
At END: the packets of the group of pictures END falls in, up to the last one shown before
END (and the references it needs); the frames shown before END that the packets copied in
decode order (those before the first one shown at or after END) do not hold are encoded."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from av.packet import Packet
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.codecs import THREADS
from runner.engine.video.encoders import PIX_FMT, splicer
from runner.engine.video.nal import disposable

Input = av.container.InputContainer
LOOKAHEAD_PACKETS = 32  # past END, as the trim looks


def floor(source: Path, *, start_seconds: float, end_seconds: float) -> int:
    """Does the work; returns how many frames it encoded (for a sanity check)."""
    with av.open(str(source)) as container:
        video = container.streams.video[0]
        video.codec_context.thread_count = THREADS
        video.codec_context.thread_type = "AUTO"
        start, end = _ticks(video, start_seconds), _ticks(video, end_seconds)
        encoded = _head(container, video, start=start, end=end)
        video.codec_context.flush_buffers()
        return encoded + _tail(container, video, end=end)


def _ticks(video: VideoStream, seconds: float) -> int:
    assert video.time_base is not None
    return (video.start_time or 0) + round(seconds / video.time_base)


def _head(
    container: av.container.InputContainer, video: VideoStream, *, start: int, end: int
) -> int:
    container.seek(start, stream=video, backward=True)
    frames: list[VideoFrame] = []
    first = True
    for packet in container.demux(video):
        if packet.pts is None:
            continue
        if packet.is_keyframe and not first and packet.pts >= start:
            break
        first = False
        if packet.pts < start and _disposable(video, packet):
            continue
        frames += [f for f in video.decode(packet) if f.pts is not None and start <= f.pts < end]
    frames += [f for f in video.decode(None) if f.pts is not None and start <= f.pts < end]
    return _encode(video, frames)


def _tail(container: Input, video: VideoStream, *, end: int) -> int:
    container.seek(end, stream=video, backward=True)
    gop: list[Packet[VideoStream]] = []
    for packet in container.demux(video):
        if packet.pts is None:
            continue
        if packet.is_keyframe and gop:
            break
        gop.append(packet)
    before_end = [i for i, packet in enumerate(gop) if packet.pts is not None and packet.pts >= end]
    copied = gop[: before_end[0]] if before_end else gop
    ceiling = max(packet.pts or 0 for packet in copied)
    shown = [i for i, packet in enumerate(gop) if (packet.pts or 0) < end]
    needed = gop[: min(shown[-1] + 1, len(copied) + LOOKAHEAD_PACKETS)]
    frames: list[VideoFrame] = []
    for held in [*needed, None]:
        if held is not None and _skippable(video, held, ceiling=ceiling, end=end):
            continue
        for frame in video.decode(held):
            if frame.pts is not None and ceiling < frame.pts < end:
                frames.append(frame)
    return _encode(video, sorted(frames, key=lambda frame: frame.pts or 0))


def _skippable(video: VideoStream, packet: Packet[VideoStream], *, ceiling: int, end: int) -> bool:
    """Copied already, or shown after END, and no reference for the frames wanted."""
    pts = packet.pts or 0
    return (pts <= ceiling or pts >= end) and _disposable(video, packet)


def _disposable(video: VideoStream, packet: Packet[VideoStream]) -> bool:
    context = video.codec_context
    return disposable(context.codec.canonical_name, bytes(packet), context.extradata)


def _encode(video: VideoStream, frames: list[VideoFrame]) -> int:
    if not frames:
        return 0
    context = video.codec_context
    assert video.time_base is not None
    encoder = splicer(
        context.codec.canonical_name, size=(context.width, context.height),
        time_base=video.time_base, rate=video.average_rate or Fraction(25),
    )  # fmt: skip
    for frame in frames:
        plain = frame if frame.format.name == PIX_FMT else frame.reformat(format=PIX_FMT)
        plain.pict_type = PictureType.NONE
        encoder.encode(plain)
    encoder.encode(None)
    return len(frames)
