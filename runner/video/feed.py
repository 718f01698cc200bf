"""Feeding the planned segments, one file after the other, to the sinks of the result's
streams: seek once to where a segment starts, demux, stop when the sinks have enough. One
pass over each file, whatever is copied and whatever is re-encoded."""

from av.stream import Stream

from runner.ops.base import EditFailed, Progress
from runner.video.audio import AudioTranscode
from runner.video.plan import Plan, Segment
from runner.video.probe import Input, open_streams, reading
from runner.video.sink import Sink, seconds

PROGRESS_EVERY_PACKETS = 64
TRUNCATED_SECONDS = 0.5  # a source ending this much before its header said is truncated


def feed(
    plan: Plan, *, video: Sink, audio: Sink | None, progress: Progress, keyframe_start: bool
) -> None:
    """`keyframe_start`: a segment starting between keyframes starts on the one before."""
    offset = 0.0
    for segment in plan.segments:
        with reading(segment.source.path) as container:
            start = _start(container, segment, keyframe_start=keyframe_start)
            _feed_one(container, segment, start=start, offset=offset, sinks=(video, audio))
            _report(plan, offset + segment.end - start, progress)
        offset += segment.end - start


def _feed_one(
    container: Input,
    segment: Segment,
    *,
    start: float,
    offset: float,
    sinks: tuple[Sink, Sink | None],
) -> None:
    video_stream, audio_stream = open_streams(container)
    video, audio = sinks
    routes: dict[int, Sink] = {video_stream.index: video}
    video.begin(video_stream, segment, start=start, offset=offset)
    if audio is not None and audio_stream is not None:
        audio.begin(audio_stream, segment, start=start, offset=offset)
        routes[audio_stream.index] = audio
    _seek(container, video_stream, start)
    complete = _demux(container, routes)
    for sink in routes.values():
        sink.end()
    if isinstance(audio, AudioTranscode):  # a source without sound, or with too little
        audio.silence_until(offset + segment.end - start)
    if not complete:
        _check_whole(segment, offset + segment.end - start, sinks)


def _demux(container: Input, routes: dict[int, Sink]) -> bool:
    """True when every sink had what it needed before the file ended."""
    streams = [stream for stream in container.streams if stream.index in routes]
    for packet in container.demux(streams):
        if packet.size and packet.stream.index in routes:  # empty ones only mark the end
            routes[packet.stream.index].push(packet)
        if all(sink.done for sink in routes.values()):
            return True
    return False


def _check_whole(segment: Segment, expected: float, sinks: tuple[Sink, Sink | None]) -> None:
    reached = max(sink.position for sink in sinks if sink is not None)
    frame_seconds = float(1 / segment.source.video.rate)
    if reached < expected - TRUNCATED_SECONDS - 2 * frame_seconds:
        raise EditFailed(
            f"{segment.source.path.name} ends after {reached - (expected - segment.duration):.2f}"
            f" s of the {segment.duration:.2f} s asked for: the file is truncated or damaged"
        )


def _start(container: Input, segment: Segment, *, keyframe_start: bool) -> float:
    """Where the segment really starts: the keyframe at or before its start, if asked."""
    if not keyframe_start or segment.start <= 0:
        return segment.start
    video, _ = open_streams(container)
    _seek(container, video, segment.start)
    for packet in container.demux(video):
        at = seconds(video, packet.pts)
        if packet.is_keyframe and at is not None:
            return min(at, segment.start)
    return segment.start


def _seek(container: Input, video: Stream, start: float) -> None:
    """A fresh container reads from its start: seeking there could skip a first GOP whose
    timestamps begin below zero."""
    if start <= 0 or video.time_base is None:
        return
    target = (video.start_time or 0) + round(start / video.time_base)
    container.seek(target, stream=video, backward=True)


def _report(plan: Plan, done_seconds: float, progress: Progress) -> None:
    progress(min(1.0, done_seconds / plan.duration) if plan.duration > 0 else 1.0)
