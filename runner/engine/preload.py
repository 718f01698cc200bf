"""What the sandbox's forkserver imports once, before it forks any child: every module an
edit or a probe runs, and every Pillow plugin. A child then starts with all of it in memory
(shared, copy-on-write) instead of importing it again for each edit: some tens of
milliseconds per child, and far more where no bytecode cache can be written
(PYTHONDONTWRITEBYTECODE, a read-only install), since each import then compiles its source.

It then rehearses the upload check on a tiny image of each common format (made here, never
a client's bytes): the first decode of each format sets up its codec library's tables and
Pillow's code paths, some 20 ms that each child's first check would otherwise pay, and that
work, done here, is shared by every child.

Only the forkserver imports this module; its one side effect is that warming."""

import gc
import tempfile
from pathlib import Path

from PIL import Image

import runner.engine.checks
import runner.engine.imports.download
import runner.engine.jobs
import runner.engine.probe
from service.kernel.errors import EditroomError

__all__ = ["REHEARSED", "runner"]

REHEARSAL_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
REHEARSAL_SIDE_PX = 16
REHEARSAL_LIMIT_PIXELS = 1_000_000


def _rehearse() -> tuple[str, ...]:
    """The formats whose check ran once here, on a picture of our own."""
    done: list[str] = []
    with tempfile.TemporaryDirectory(prefix="editroom-rehearsal-") as folder:
        for name in REHEARSAL_FORMATS:
            path = Path(folder) / f"rehearsal.{name.lower()}"
            try:
                Image.new("RGB", (REHEARSAL_SIDE_PX, REHEARSAL_SIDE_PX), "gray").save(path, name)
                runner.engine.checks.check_file(
                    str(path), REHEARSAL_LIMIT_PIXELS, 1.0, REHEARSAL_LIMIT_PIXELS,
                    progress=lambda fraction: None,
                )  # fmt: skip
            except (OSError, KeyError, ValueError, EditroomError):
                continue  # a Pillow built without it: nothing to warm, and no child to break
            done.append(name)
    return tuple(done)


# Pillow imports its format plugins on the first open or save, in every process; here they
# are imported once for all children.
Image.init()
REHEARSED = _rehearse()

# Move everything imported so far out of the collector's reach: a child's collections then
# never walk (and so never copy, page by page) the memory it shares with the forkserver.
gc.freeze()
