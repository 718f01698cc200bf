"""`format=audio`: the library holds images and videos, so an audio track is imported as a
video: the audio (as AAC) over a still black picture, one frame a second."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from runner.engine.video.probe import about_the_media
from service.kernel.errors import EditFailed, reason

PICTURE_SIZE = (640, 360)
FRAMES_PER_SECOND = 1
AUDIO_RATE_HZ = 48000


def audio_as_video(source: Path, out_dir: Path) -> Path:
    target = out_dir / "audio.mp4"
    try:
        with (
            av.open(str(source), metadata_errors="replace") as audio_in,
            av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as output,
        ):
            if not audio_in.streams.audio:
                raise EditFailed("the import has no audio track to keep")
            seconds = _write_audio(audio_in, output)
            _write_picture(output, seconds)
    except av.FFmpegError as exc:
        if not about_the_media(exc):
            raise
        raise EditFailed(f"the imported audio could not be read: {reason(exc)}") from None
    return target


def _write_audio(
    audio_in: av.container.InputContainer, output: av.container.OutputContainer
) -> float:
    stream = output.add_stream("aac", rate=AUDIO_RATE_HZ)
    video = output.add_stream("libx264", rate=FRAMES_PER_SECOND)
    assert isinstance(video, av.VideoStream)
    video.width, video.height = PICTURE_SIZE
    video.pix_fmt = "yuv420p"
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE_HZ)
    samples = 0
    for frame in audio_in.decode(audio=0):
        for converted in resampler.resample(frame):
            converted.pts = samples
            converted.time_base = Fraction(1, AUDIO_RATE_HZ)
            samples += converted.samples
            output.mux(stream.encode(converted))
    output.mux(stream.encode(None))
    return samples / AUDIO_RATE_HZ


def _write_picture(output: av.container.OutputContainer, seconds: float) -> None:
    video = next(s for s in output.streams.video)
    black = np.zeros((PICTURE_SIZE[1], PICTURE_SIZE[0], 3), dtype=np.uint8)
    for second in range(max(1, round(seconds * FRAMES_PER_SECOND))):
        frame = av.VideoFrame.from_ndarray(black, format="rgb24")
        frame.pts = second
        output.mux(video.encode(frame))
    output.mux(video.encode(None))
