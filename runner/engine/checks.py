"""An upload's check, the job the service sends a sandboxed child for each upload: what the
file is, or why editroom does not take it.

It lives apart from runner.engine.jobs (the edits' jobs) so that the service, which sends it,
imports only the probe: jobs brings every operation's libraries (OpenCV's alone is some 25 MiB
of resident memory) into a process that never runs an edit. The forkserver preloads both
(runner.engine.preload), so a child has it in memory before its first upload."""

from pathlib import Path

from runner.engine.ops.base import Progress
from runner.engine.probe import MediaFacts, probe


def check_file(
    path: str, max_pixels: int, max_video_seconds: float, max_frame_pixels: int, *,
    progress: Progress,
) -> MediaFacts:  # fmt: skip
    """An upload's check: what the file is, or why editroom does not take it."""
    return probe(
        Path(path), max_pixels=max_pixels, max_video_seconds=max_video_seconds,
        max_frame_pixels=max_frame_pixels,
    )  # fmt: skip
