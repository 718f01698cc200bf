"""Video operations against the ffmpeg command line doing the same job on the same file:
a 60 s 1080p h264/aac clip (made here once, kept under bench/out/), cut, remuxed and
transcoded by `edit_video` and by ffmpeg in the same run, with the same encoder settings.
Then the accurate trim against its floor (bench/video_floor.py: the decoding and encoding
no accurate trim can skip, in a bare PyAV loop), the two timed turn about in the same run."""

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import Report
from bench.video_floor import floor
from runner.engine.ops.base import Limits, MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.video.codecs import AUDIO_BIT_RATE, ENCODER_OPTIONS, THREADS
from runner.engine.video.pipeline import edit_video

OUT = Path(__file__).parent / "out"
CLIP_SECONDS = 60
GOP_FRAMES = 60  # a keyframe every 2 s at 30 fps, as streaming encoders make them
CUT_START_SECONDS = 25  # mid-GOP: the accurate cut re-encodes 1 s, the copy starts at 24 s
CUT_END_SECONDS = 35
REPEATS = 3  # the fast jobs; the median counts
FLOOR_REPEATS = 7  # the accurate trim and its floor, in turn
FLOOR_GOAL = 1.1  # times the floor's wall time, at most
LIMITS = Limits(
    max_pixels=50_000_000, max_output_side=8192, max_video_seconds=3600, max_operations=20
)
FFMPEG = ["ffmpeg", "-v", "error", "-y", "-threads", str(THREADS)]
FASTSTART = ["-movflags", "+faststart"]


def run() -> list[Report]:
    mp4, mkv = _clips()
    return [_against_ffmpeg(mp4, mkv), _against_floor(mp4)]


def _against_ffmpeg(mp4: Path, mkv: Path) -> Report:
    report = Report(title="Video operations on a 60 s 1080p clip, milliseconds", peer="ffmpeg CLI")
    with tempfile.TemporaryDirectory(prefix="editroom-video-bench-") as folder:
        work = Path(folder)
        cut = f"{CUT_START_SECONDS},{CUT_END_SECONDS}"
        copy_cut = _pair(report, "trim 10 s, copy", work=work, source=mp4,
            query=[("trim", cut), ("accurate", "false")],
            ffmpeg_args=["-ss", str(CUT_START_SECONDS), "-i", str(mp4), "-t", "10",
                         "-c", "copy", *FASTSTART])  # fmt: skip
        accurate = _pair(report, "trim 10 s, accurate (ffmpeg re-encodes all)", work=work,
            source=mp4, query=[("trim", cut)],
            ffmpeg_args=["-ss", str(CUT_START_SECONDS), "-i", str(mp4), "-t", "10",
                         "-c:v", "libx264", *_x264_args(), "-c:a", "copy", *FASTSTART])  # fmt: skip
        remux = _pair(report, "remux mkv to mp4", work=work, source=mkv,
            query=[("format", "mp4")],
            ffmpeg_args=["-i", str(mkv), "-c", "copy", *FASTSTART])  # fmt: skip
        transcode = _pair(report, "transcode h264/aac to vp9/opus", work=work, source=mp4,
            query=[("format", "webm")], ffmpeg_args=["-i", str(mp4), *_vp9_args()],
            extension="webm", repeats=1)  # fmt: skip
    _goal(report, "copy trim within 1.2x of ffmpeg's wall time", copy_cut, 1.2)
    _goal(report, "remux within 1.2x of ffmpeg's wall time", remux, 1.2)
    smart = accurate[0] / copy_cut[0]
    report.goal(f"accurate trim under 3x our copy trim (got {smart:.1f}x)", smart < 3)
    _goal(report, "transcode within 1.1x of ffmpeg's wall time", transcode, 1.1)
    return report


def _against_floor(mp4: Path) -> Report:
    report = Report(
        title="The accurate trim (10 s, both cuts mid-GOP) against its floor, milliseconds",
        peer="floor: bare PyAV decode and encode at both cuts",
    )
    query = [("trim", f"{CUT_START_SECONDS},{CUT_END_SECONDS}")]
    ours: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="editroom-video-bench-") as folder:
        for _ in range(FLOOR_REPEATS):  # in turn: both see the machine as it is
            ours.append(_timed(lambda: _ours(mp4, query, Path(folder))))
            bare.append(_timed(lambda: _floor(mp4)))
    times = (statistics.median(ours), statistics.median(bare))
    report.add("trim 10 s, accurate", times[0] * 1000, times[1] * 1000, higher_is_better=False)
    _goal(report, f"accurate trim within {FLOOR_GOAL}x of its floor", times, FLOOR_GOAL)
    return report


def _floor(source: Path) -> None:
    floor(source, start_seconds=CUT_START_SECONDS, end_seconds=CUT_END_SECONDS)


def _timed(job: Callable[[], None]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _goal(report: Report, text: str, times: tuple[float, float], most: float) -> None:
    ratio = times[0] / times[1]
    report.goal(f"{text} (got {ratio:.2f}x)", ratio <= most)


def _pair(
    report: Report,
    measure: str,
    *,
    work: Path,
    source: Path,
    query: list[tuple[str, str]],
    ffmpeg_args: list[str],
    extension: str = "mp4",
    repeats: int = REPEATS,
) -> tuple[float, float]:
    ours = _median(repeats, lambda: _ours(source, query, work))
    theirs = _median(repeats, lambda: _ffmpeg(ffmpeg_args, work / f"ffmpeg.{extension}"))
    report.add(measure, ours * 1000, theirs * 1000, higher_is_better=False)
    return ours, theirs


def _ours(source: Path, query: list[tuple[str, str]], work: Path) -> None:
    operations = parse_query(catalogue(), MediaKind.VIDEO, query, limits=LIMITS)
    out = work / "ours"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    edit_video(
        source, operations, out_dir=out, limits=LIMITS, progress=lambda fraction: None,
        others={},
    )  # fmt: skip


def _ffmpeg(args: list[str], target: Path) -> None:
    subprocess.run([*FFMPEG, *args, str(target)], check=True)


def _median(repeats: int, job: Callable[[], None]) -> float:
    return statistics.median(_timed(job) for _ in range(repeats))


def _x264_args() -> list[str]:
    options = ENCODER_OPTIONS["h264"]
    return ["-preset", options["preset"], "-crf", options["crf"], "-threads", str(THREADS)]


def _vp9_args() -> list[str]:
    options = ENCODER_OPTIONS["vp9"]
    return [
        "-c:v", "libvpx-vp9", "-deadline", options["deadline"], "-cpu-used", options["cpu-used"],
        "-crf", options["crf"], "-b:v", options["b"], "-row-mt", options["row-mt"],
        "-threads", str(THREADS), "-pix_fmt", "yuv420p",
        "-c:a", "libopus", "-b:a", str(AUDIO_BIT_RATE["opus"]), "-ac", "2", "-ar", "48000",
    ]  # fmt: skip


def _clips() -> tuple[Path, Path]:
    """The clip, made once by ffmpeg's test sources, and the same streams in Matroska."""
    OUT.mkdir(exist_ok=True)
    mp4, mkv = OUT / "clip-1080p-60s.mp4", OUT / "clip-1080p-60s.mkv"
    if not mp4.exists():
        _ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(CLIP_SECONDS), "-c:v", "libx264", "-preset", "veryfast",
             "-g", str(GOP_FRAMES), "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", *FASTSTART],
            mp4,
        )  # fmt: skip
    if not mkv.exists():
        _ffmpeg(["-i", str(mp4), "-c", "copy"], mkv)
    return mp4, mkv
