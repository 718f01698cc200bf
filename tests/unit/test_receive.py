"""Receiving an upload's body as the network hands it over: in pieces cut anywhere."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from service.kernel.receive import receive

PART_HEADER = b'--xyz\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
FILE = b"\x89PNG the file's bytes"
FORM = "multipart/form-data; boundary=xyz"


async def pieces(body: bytes, *cuts: int) -> AsyncIterator[bytes]:
    for start, end in zip((0, *cuts), (*cuts, len(body)), strict=True):
        yield body[start:end]


def test_a_form_cut_anywhere_in_its_headers_is_read_alike(tmp_path: Path) -> None:
    """A header's name or value cut in two (`Content-D` | `isposition`) is one header: the
    file field was once not found when the cut fell in a name."""
    body = PART_HEADER + FILE + b"\r\n--xyz--\r\n"
    for cut in range(1, len(PART_HEADER)):
        form = pieces(body, cut)
        received = asyncio.run(receive(form, content_type=FORM, directory=tmp_path, max_bytes=999))
        assert (received.filename, received.path.read_bytes()) == ("a.png", FILE), cut
        received.path.unlink()
