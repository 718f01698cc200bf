"""Text in a family's font with colour emoji among it. A line is cut into runs, each drawn by the
font that has it: the family's DejaVu font for what it covers, Noto Color Emoji (Debian's
fonts-noto-color-emoji) for emoji, laid on one baseline.

Noto Color Emoji holds bitmaps (CBDT) that FreeType draws at one size only, 109 px, and only
with their embedded colour: an emoji run is drawn at that size on a layer of its own and scaled
to the text's size (so emoji larger than 109 px are enlarged bitmaps, a little soft).

Which font draws what: a character from U+1F000 on (the emoji blocks; DejaVu draws some of them
in black and white) and any character followed by an emoji mark (U+FE0F, a skin-tone modifier,
a keycap, a zero-width joiner, tag characters) goes to the emoji font when it has it; anything
else to the family's font when it has it, else to the emoji font. So ❤ is DejaVu's heart and ❤️
the red one. Skin tones and zero-width-joiner sequences (👍🏽, 👨‍👩‍👧) become one emoji where
Pillow lays text out with libraqm (its wheels do, with libfribidi installed); with its basic
layout they are drawn one after another (a thumb, then a brown square). Runs are put left to
right in the order they are written: a line mixing right-to-left script with emoji keeps its
words in that order."""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from math import ceil

from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
# Pillow looks bare file names up in the system font directories (fonts-dejavu-core puts these
# in /usr/share/fonts/truetype/dejavu); without one, Pillow's bundled Aileron (Latin only).
TEXT_FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "serif": "DejaVuSerif.ttf",
    "mono": "DejaVuSansMono.ttf",
}
EMOJI_FONT_FILE = "NotoColorEmoji.ttf"  # fonts-noto-color-emoji: /usr/share/fonts/truetype/noto
EMOJI_PACKAGE = "fonts-noto-color-emoji"
EMOJI_BITMAP_PX = 109  # the one size Noto Color Emoji's bitmaps are drawn at
EMOJI_BLOCKS_FROM = 0x1F000  # mahjong tiles onwards: the planes' emoji and pictographs
ZWJ = "\u200d"
_EMOJI_MARKS = {"\ufe0f", "\u20e3", ZWJ}  # emoji presentation, keycap, zero-width joiner
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)  # subdivision flags: 🏴 then tag letters
_REGIONAL = range(0x1F1E6, 0x1F200)  # two make a country's flag
# Where str.splitlines breaks a text (the drawing's paragraphs): each starts a line, none is drawn.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Format code points (joiners, tags, direction marks) shape the text and draw nothing themselves.
_SHAPING = "Cf"
# Control code points other than line breaks (NUL, tab, escape, ...) and lone surrogates: no
# font draws them, and FreeType would show its .notdef box. Private-use and unassigned code
# points are checked in the fonts: one may have them.
_NEVER_DRAWN = ("Cc", "Cs")
_NOTDEF_PROBE = "\U0010fffd"  # a private-use code point no font draws: shows the .notdef box
_COVERAGE_SIZE_PX = 32


@dataclass(frozen=True)
class Run:
    text: str
    emoji: bool


@dataclass(frozen=True)
class Lettering:
    """A family at a size, with the emoji font beside it (None when it is not installed)."""

    family: str
    size_px: int
    face: Font
    emoji: ImageFont.FreeTypeFont | None

    @property
    def ascent_px(self) -> int:
        ascent = _metrics(self.face)[0]
        return max(ascent, ceil(_metrics(self.emoji)[0] * self._scale)) if self.emoji else ascent

    @property
    def descent_px(self) -> int:
        descent = _metrics(self.face)[1]
        return max(descent, ceil(_metrics(self.emoji)[1] * self._scale)) if self.emoji else descent

    @property
    def _scale(self) -> float:
        return self.size_px / EMOJI_BITMAP_PX

    def runs(self, text: str) -> list[Run]:
        """`text` cut where the font drawing it changes."""
        runs: list[Run] = []
        for cluster in clusters(text):
            emoji = self.emoji is not None and _wants_emoji(cluster, self.family)
            if runs and runs[-1].emoji == emoji:
                runs[-1] = Run(runs[-1].text + cluster, emoji)
            else:
                runs.append(Run(cluster, emoji))
        return runs

    def length(self, text: str) -> float:
        """How far `text` advances, in pixels."""
        return sum(self._run_length(run) for run in self.runs(text))

    def reach_px(self, text: str, *, outline_px: int) -> tuple[int, int]:
        """How far `text` drawn with an outline of `outline_px` reaches above its baseline and
        below it, in pixels, measured without drawing. Combining marks stack past the font's
        ascent and descent (999 acute accents on one letter reach 250,000 px up at 700 px); an
        emoji run is drawn within its font's ascent and descent."""
        above, below = 0, 0
        for run in self.runs(text):
            top, bottom = self._run_reach(run, outline_px)
            above, below = max(above, ceil(-top)), max(below, ceil(bottom))
        return above, below

    def _run_reach(self, run: Run, outline_px: int) -> tuple[float, float]:
        """The top and bottom of a run's ink, from its baseline (the top negative)."""
        if run.emoji or not isinstance(self.face, ImageFont.FreeTypeFont):
            return -self.ascent_px - outline_px, self.descent_px + outline_px
        _, top, _, bottom = self.face.getbbox(run.text, anchor="ls", stroke_width=outline_px)
        return top, bottom

    def draw_line(
        self, layer: Image.Image, text: str, *, x: float, baseline: int, style: "Ink"
    ) -> None:
        """`text` on `layer` from `x`, on `baseline`: text runs in the ink's colour and
        outline, emoji in their own colours."""
        pen = ImageDraw.Draw(layer)
        for run in self.runs(text):
            if run.emoji:
                picture = _emoji_picture(run.text, self.size_px, self.emoji)
                top = baseline - round(_metrics(self.emoji)[0] * self._scale)
                layer.alpha_composite(picture, (round(x), top))
            else:
                pen.text(
                    (x, baseline), run.text, style.fill, self.face, anchor="ls",
                    stroke_width=style.outline_px, stroke_fill=style.outline,
                )  # fmt: skip
            x += self._run_length(run)

    def _run_length(self, run: Run) -> float:
        if run.emoji and self.emoji is not None:
            return self.emoji.getlength(run.text) * self._scale
        return self.face.getlength(run.text)


@dataclass(frozen=True)
class Ink:
    fill: tuple[int, int, int, int]
    outline: tuple[int, int, int, int]
    outline_px: int


@lru_cache(maxsize=8)  # every frame of an animation uses the same font
def font(size_px: int, family: str = "sans") -> Font:
    """The family's DejaVu font (found in the system font directories), or Pillow's bundled
    font when it is not installed."""
    try:
        return ImageFont.truetype(TEXT_FONT_FILES[family], size_px)
    except OSError:
        return ImageFont.load_default(size=size_px)


@lru_cache(maxsize=1)
def emoji_font() -> ImageFont.FreeTypeFont | None:
    """Noto Color Emoji at its one size, or None when fonts-noto-color-emoji is not installed."""
    try:
        return ImageFont.truetype(EMOJI_FONT_FILE, EMOJI_BITMAP_PX)
    except OSError:
        return None


def lettering(size_px: int, family: str = "sans") -> Lettering:
    return Lettering(family, size_px, font(size_px, family), emoji_font())


def clusters(text: str) -> list[str]:
    """`text` cut into what is drawn as one: a character with the marks, skin tone, joined
    emoji or second flag letter that follow it."""
    pieces: list[str] = []
    for character in text:
        if pieces and _extends(pieces[-1], character):
            pieces[-1] += character
        else:
            pieces.append(character)
    return pieces


def undrawable(text: str, family: str = "sans") -> list[str]:
    """The characters of `text` that would not be drawn, in order, once each: those neither the
    family's font nor the emoji font has a glyph for, and control characters other than line
    breaks (NUL, tab, escape, ...)."""
    missing: list[str] = []
    for character in dict.fromkeys(text):
        category = unicodedata.category(character)
        if character in _LINE_BREAKS or category == _SHAPING:
            continue
        if category in _NEVER_DRAWN:
            missing.append(character)
        elif character.isspace():
            continue
        elif not _in_font(character, family) and not _in_emoji_font(character):
            missing.append(character)
    return missing


def undrawable_reason(missing: list[str], family: str) -> str:
    """What to say about characters `undrawable` found: which, and what would draw emoji."""
    named = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing[:10])
    reason = f"no available font draws {named} (text_font={family})"
    if emoji_font() is None and any(_looks_like_emoji(c) for c in missing):
        reason += f"; the emoji among them would be drawn with {EMOJI_PACKAGE} installed"
    return reason


def _extends(cluster: str, character: str) -> bool:
    if cluster.isspace():
        return False
    code = ord(character)
    if ZWJ in (cluster[-1], character) or code in _SKIN_TONES or code in _TAGS:
        return True
    if unicodedata.category(character) in ("Mn", "Mc", "Me"):  # marks, U+FE0F and U+20E3 too
        return True
    return code in _REGIONAL and len(cluster) == 1 and ord(cluster) in _REGIONAL


def _wants_emoji(cluster: str, family: str) -> bool:
    asks = ord(cluster[0]) >= EMOJI_BLOCKS_FROM or any(_emoji_mark(c) for c in cluster[1:])
    if asks or not _in_font(cluster[0], family):
        return _in_emoji_font(cluster)
    return False


def _emoji_mark(character: str) -> bool:
    return character in _EMOJI_MARKS or ord(character) in _SKIN_TONES or ord(character) in _TAGS


def _looks_like_emoji(character: str) -> bool:
    return ord(character) >= EMOJI_BLOCKS_FROM or 0x2600 <= ord(character) < 0x2C00


def _in_font(character: str, family: str) -> bool:
    face = font(_COVERAGE_SIZE_PX, family)
    mapped = _mapped(face)
    if mapped is not None:
        return ord(character) in mapped
    return _has_glyph(character, face)  # Pillow's bundled font: no file to read


def _in_emoji_font(text: str) -> bool:
    face = emoji_font()
    if face is None:
        return False
    mapped = _mapped(face)
    if mapped is not None and len(text) == 1 and ord(text) not in mapped:
        return False  # most of Unicode, and no drawing needed to say so
    return _draws(text, face)  # what it maps it may draw blank (a keycap's digit)


def _mapped(face: Font) -> frozenset[int] | None:
    """The code points `face`'s file maps to a glyph, or None when it has no file to read."""
    path = getattr(face, "path", None)
    return _mapped_in_file(path) if isinstance(path, str) else None


@lru_cache(maxsize=8)
def _mapped_in_file(path: str) -> frozenset[int] | None:
    """The font file's character map, read once: asking the font whether it draws a character
    costs a glyph drawn (about 85 us with the emoji font's), and a text of a thousand
    characters no font has would cost the API that much of its event loop for each request."""
    try:
        with TTFont(path, lazy=True, fontNumber=0) as file:
            best = file.getBestCmap() or {}
    except (OSError, TTLibError):
        return None
    return frozenset(code for code, glyph in best.items() if glyph != ".notdef")


@lru_cache(maxsize=4096)  # keyed by the font too: a test may swap the font files
def _has_glyph(character: str, face: Font) -> bool:
    """Whether `face` has a glyph: what it draws without one is its .notdef box."""
    mask, notdef = face.getmask(character), face.getmask(_NOTDEF_PROBE)
    return not (mask.size == notdef.size and bytes(mask) == bytes(notdef))


@lru_cache(maxsize=4096)
def _draws(text: str, face: ImageFont.FreeTypeFont) -> bool:
    """Whether the emoji font draws `text`: it draws nothing at all without a glyph."""
    _, top, _, bottom = face.getbbox(text)
    return bottom > top


@lru_cache(maxsize=256)  # an animation draws the same emoji on every frame
def _emoji_picture(text: str, size_px: int, face: Font | None) -> Image.Image:
    assert isinstance(face, ImageFont.FreeTypeFont)  # only emoji runs come here
    ascent, descent = _metrics(face)
    picture = Image.new("RGBA", (ceil(face.getlength(text)), ascent + descent))
    ImageDraw.Draw(picture).text((0, 0), text, font=face, embedded_color=True)
    scale = size_px / EMOJI_BITMAP_PX
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def _metrics(face: Font | None) -> tuple[int, int]:
    """Ascent and descent in pixels."""
    if isinstance(face, ImageFont.FreeTypeFont):
        return face.getmetrics()
    if face is None:
        return 0, 0
    _, top, _, bottom = face.getbbox("Ay")
    return int(bottom - top), 0
