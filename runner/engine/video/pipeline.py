"""Editing a video: probe the sources, plan the whole edit, then do it in one pass. Runs in
a child process the runner manages; plain synchronous code. The result is the video, or the
stills thumbnail or frames asked for."""

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from uuid import UUID

import av

from runner.engine.ops.base import Limits, Operation, Product, Progress
from runner.engine.video import encoders
from runner.engine.video.audio import AudioCopy, AudioTranscode
from runner.engine.video.burn import Burn
from runner.engine.video.codecs import EXTRACT_MUXER
from runner.engine.video.concat import Concat
from runner.engine.video.copy import VideoCopy
from runner.engine.video.feed import Feeder
from runner.engine.video.gif import DELAY_CLOCK, PaletteUse, palette
from runner.engine.video.output import Muxer, Output, writing
from runner.engine.video.plan import Plan, make_plan
from runner.engine.video.probe import Input, about_the_media, open_streams, probe, reading
from runner.engine.video.sink import Sink
from runner.engine.video.stills import write_stills
from runner.engine.video.timing import MAX_RATE_DENOMINATOR
from runner.engine.video.transcode import TIMELINE_CLOCK, VideoTranscode
from service.kernel.errors import EditFailed, reason


def edit_video(
    source: Path,
    operations: Sequence[Operation],
    *,
    out_dir: Path,
    limits: Limits,
    progress: Progress,
    others: Mapping[UUID, Path],
    lossless_stills: bool = False,
    recorded_durations: Mapping[Path, float] | None = None,
) -> list[Product]:
    """lossless_stills: stills as PNG, for image operations to run on (else JPEG).
    recorded_durations: the durations the media's rows record, by file (probe takes them)."""
    recorded = recorded_durations or {}
    try:
        main = probe(source, limits=limits, recorded_seconds=recorded.get(source))
        videos = {ref for op in operations if isinstance(op, Concat) for ref in op.media}
        probed = {
            media: probe(others[media], limits=limits, recorded_seconds=recorded.get(others[media]))
            for media in videos
            if media in others
        }
        plan = make_plan(main, operations, others=probed, limits=limits)
        if plan.still is not None:
            results = write_stills(
                plan, source=main.path, out_dir=out_dir, progress=progress,
                lossless=lossless_stills,
            )  # fmt: skip
        elif plan.extract is not None:
            results = [Product(_extract(plan, out_dir / f"audio.{plan.extract}", progress))]
        else:
            burns = _burns(plan, others)
            results = [Product(_write(plan, out_dir / f"video.{plan.container}", progress, burns))]
    except av.error.FFmpegError as exc:
        if not about_the_media(exc):
            raise
        raise EditFailed(f"the video could not be processed: {reason(exc)}") from None
    progress(1.0)
    return results


def _burns(plan: Plan, images: Mapping[UUID, Path]) -> list[Burn]:
    size = plan.video.size
    return [
        Burn.of(mark.layer(size, images), start=mark.start, end=mark.end)
        for mark in plan.video.marks
    ]


def _extract(plan: Plan, target: Path, progress: Progress) -> Path:
    """The sound alone, in an audio container."""
    if plan.audio.mode == "none":
        raise EditFailed("audio=extract: the video has no sound to extract")
    assert plan.extract is not None
    with writing(target, plan.extract, muxer=EXTRACT_MUXER[plan.extract]) as output:
        audio = _audio_sink(output, plan)
        Feeder(plan, video=None, audio=audio, progress=progress).feed(keyframe_start=False)
        assert audio is not None
        audio.finish()
        _check_filled(plan, audio, holds="sound")
    return target


def _write(plan: Plan, target: Path, progress: Progress, burns: Sequence[Burn]) -> Path:
    with writing(target, plan.container) as output:
        with reading(plan.segments[0].source.path) as first:  # opened once for both templates
            video, audio = _video_sink(output, plan, burns, first), _audio_sink(output, plan, first)
        keyframe_start = plan.video.copy and not plan.accurate
        feeder = Feeder(plan, video=video, audio=audio, progress=progress)
        feeder.feed(keyframe_start=keyframe_start)
        for sink in (video, audio):
            if sink is not None:
                sink.finish()
        _check_filled(plan, video, holds="picture")
    return target


def _check_filled(plan: Plan, sink: Sink, *, holds: str) -> None:
    """The result's picture (its sound, when it is the sound alone) has packets, else the
    edit fails saying why: a trim may hold none (a part past the source's last frame, its
    sound lasting longer); a file whose picture lasts 0 s is no result. A video's sound may
    be missing from the part asked (a source whose sound stops early): that is kept."""
    if sink.muxer.packets:
        return
    result = f"the {plan.extract or plan.container} result would have no {holds}"
    segment = plan.segments[0]
    if len(plan.segments) == 1 and (segment.start > 0 or segment.end < segment.source.duration):
        raise EditFailed(f"{result}: trim={segment.start:g},{segment.end:g} holds none of it")
    raise EditFailed(
        f"{result}: none of the source's could be placed in it (its packets lack "
        "timestamps, or the file is damaged)"
    )


def _video_sink(output: Output, plan: Plan, burns: Sequence[Burn], container: Input) -> Sink:
    """`container`: the first segment's source, open."""
    first = plan.segments[0].source
    if plan.video.copy:
        template = output.add_stream_from_template(open_streams(container)[0], opaque=True)
        encoders.tag_hvc1(output, template)
        encoders.state_rate(template, first.video.rate)
        muxer = Muxer(output, template, time_base=first.video.time_base)
        return VideoCopy(muxer, accurate=plan.accurate)
    if plan.video.codec is None:
        return _gif_sink(output, plan, burns)
    rate = _stated_rate(plan)
    time_base = 1 / plan.video.rate if plan.video.rate else first.video.time_base
    if not plan.video.rate and plan.speed != 1.0:  # the source's ticks, sped, are not ticks
        time_base = TIMELINE_CLOCK  # of it (a slideshow's may be 5 s: 2.5 s apart at speed=2)
    encoder = encoders.add_video(
        output, plan.video.codec, size=plan.video.size, time_base=time_base, rate=rate,
        encoding=plan.video.encoding,
    )  # fmt: skip
    muxer = Muxer(output, encoder.stream, time_base=time_base)
    return VideoTranscode(
        muxer, encoder, plan=plan.video, first_shape=first.video.display_size, burns=burns
    )


def _stated_rate(plan: Plan) -> Fraction:
    """The frame rate the result's stream states: its grid's, or, its frames at their own
    times, the first source's played at the speed (a slideshow at speed=2: 0.4)."""
    if plan.video.rate:
        return plan.video.rate
    sped = plan.segments[0].source.video.rate * Fraction(plan.speed)
    return sped.limit_denominator(MAX_RATE_DENOMINATOR)


def _gif_sink(output: Output, plan: Plan, burns: Sequence[Burn]) -> Sink:
    """Frames on the plan's grid, or at their own times counted in the GIF's hundredths of a
    second. Muxed in hundredths either way: a GIF lasts the sum of its frames' delays, and
    END may fall within its grid's last slot (a slideshow's are 5 s long)."""
    first = plan.segments[0].source.video
    rate, size = plan.video.rate, plan.video.size
    encoder = encoders.add_gif(
        output, size=size, rate=_stated_rate(plan), time_base=1 / rate if rate else DELAY_CLOCK
    )
    frames_clock = TIMELINE_CLOCK if rate else DELAY_CLOCK  # VideoTranscode's, up to the grid
    return VideoTranscode(
        Muxer(output, encoder.stream, time_base=DELAY_CLOCK), encoder, plan=plan.video,
        first_shape=first.display_size,
        finish=PaletteUse(palette(plan), size=size, time_base=frames_clock),
        pix_fmt="rgb24", burns=burns, shown_from_start=True,
    )  # fmt: skip


def _audio_sink(output: Output, plan: Plan, opened: Input | None = None) -> Sink | None:
    """`opened`: the first segment's source, when it is open already."""
    if plan.audio.mode == "none":
        return None
    if plan.audio.mode == "copy":
        first = next(s.source for s in plan.segments if s.source.audio is not None)
        assert first.audio is not None
        with ExitStack() as stack:
            container = opened if first is plan.segments[0].source else None
            if container is None:
                container = stack.enter_context(reading(first.path))
            audio_stream = open_streams(container)[1]
            assert audio_stream is not None
            template = output.add_stream_from_template(audio_stream, opaque=True)
        return AudioCopy(Muxer(output, template, time_base=first.audio.time_base))
    assert plan.audio.codec is not None
    encoder = encoders.add_audio(output, plan.audio.codec, rate=plan.audio.rate)
    muxer = Muxer(output, encoder.stream, time_base=encoder.context.time_base)
    return AudioTranscode(muxer, encoder, gain=plan.audio.gain, speed=plan.audio.speed)
