"""What the sandbox's forkserver imports once, before it forks any child: every module an
edit or a probe runs, and every Pillow plugin. A child then starts with all of it in memory
(shared, copy-on-write) instead of importing it again for each edit: some tens of
milliseconds per child, and far more where no bytecode cache can be written
(PYTHONDONTWRITEBYTECODE, a read-only install), since each import then compiles its source.

Only the forkserver imports this module; its one side effect is that warming."""

import gc

from PIL import Image

import runner.engine.imports.download
import runner.engine.jobs
import runner.engine.probe

__all__ = ["runner"]

# Pillow imports its format plugins on the first open or save, in every process; here they
# are imported once for all children.
Image.init()

# Move everything imported so far out of the collector's reach: a child's collections then
# never walk (and so never copy, page by page) the memory it shares with the forkserver.
gc.freeze()
