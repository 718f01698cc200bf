"""How messages say a number of things, so none says "1 edits are waiting": refusals, errors
and reports are built in many layers, and each counts through here."""


def counted(count: int, noun: str) -> str:
    """`count` things called `noun` (a regular noun, said in the singular): "1 edit",
    "0 edits", "1,500 edits"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
