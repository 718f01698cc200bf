"""What an import asks for: a URL, a format choice and a maximum height. It is the single
operation of an import job (an edit with no source media)."""

from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from runner.engine.ops import grammar
from service.kernel.errors import InvalidParameter
from service.kernel.excerpt import without_credentials

ImportFormat = Literal["best", "mp4", "audio"]
FORMATS: tuple[ImportFormat, ...] = ("best", "mp4", "audio")
MIN_HEIGHT_PX = 144
MAX_HEIGHT_PX = 8640
MAX_URL_CHARS = 4096


class ImportRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["import"] = "import"
    url: str = Field(min_length=1, max_length=MAX_URL_CHARS)
    format: ImportFormat = "best"
    max_height: int | None = Field(default=None, ge=MIN_HEIGHT_PX, le=MAX_HEIGHT_PX)

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Self:
        url = params.get("url", "").strip()
        if not url or len(url) > MAX_URL_CHARS:
            raise InvalidParameter(
                "url",
                without_credentials(url),
                "is required" if not url else "is too long",
                accepted=f"an http(s) URL of a page or a media file, of at most {MAX_URL_CHARS} "
                "characters",
            )
        height = params.get("max_height")
        return cls(
            url=url,
            format=grammar.choice("format", params.get("format", "best"), FORMATS),
            max_height=None
            if height is None
            else grammar.integer(
                "max_height", height, minimum=MIN_HEIGHT_PX, maximum=MAX_HEIGHT_PX
            ),
        )


def is_import(ops: list[dict[str, object]]) -> bool:
    return len(ops) == 1 and ops[0].get("op") == "import"
