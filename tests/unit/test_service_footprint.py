"""The API process stays light: it checks uploads in sandboxed children and never runs an edit,
so it must not import the edits' libraries (OpenCV alone is some 25 MiB resident), which the
1 GiB upload's memory bound (tests/e2e/test_upload_process.py) leaves no room for."""

import subprocess
import sys

EDIT_ONLY_MODULES = ("cv2", "runner.engine.jobs", "runner.engine.image.pipeline")


def test_the_service_does_not_import_what_only_edits_use() -> None:
    probe = (
        "import sys, service.http.app, service.cli; "
        f"print(','.join(m for m in {EDIT_ONLY_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "", f"the service imports {result.stdout.strip()}"
