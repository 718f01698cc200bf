"""Just enough H.264/HEVC bitstream handling for a smart cut: MP4 and Matroska store NAL
units length-prefixed with the parameter sets in the header (avcC/hvcC), while an encoder
without a global header writes Annex B with its parameter sets in-band. The spliced packets
carry their own parameter sets, so the first copied keyframe gets the source's back."""

import re

_START_CODE = re.compile(b"\x00\x00\x01")
PARAMETER_SET_CODECS = frozenset({"h264", "hevc"})


def length_size(codec: str, extradata: bytes | None) -> int | None:
    """Bytes of each NAL length prefix, or None when packets are Annex B (no avcC/hvcC)."""
    if codec not in PARAMETER_SET_CODECS or not extradata or extradata[0] != 1:
        return None
    at = 4 if codec == "h264" else 21  # where avcC and hvcC keep lengthSizeMinusOne
    return (extradata[at] & 3) + 1


def annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer, without start codes or trailing zeros."""
    matches = list(_START_CODE.finditer(data))
    starts = [match.end() for match in matches]
    ends = [*(match.start() for match in matches[1:]), len(data)] if matches else []
    return [data[start:end].rstrip(b"\x00") for start, end in zip(starts, ends, strict=True)]


def length_prefixed(units: list[bytes], size: int) -> bytes:
    return b"".join(len(unit).to_bytes(size, "big") + unit for unit in units)


def to_stored_form(codec: str, data: bytes, extradata: bytes | None) -> bytes:
    """An encoder's Annex B packet in the form the source's packets are stored in."""
    size = length_size(codec, extradata)
    return data if size is None else length_prefixed(annexb_units(data), size)


def parameter_sets(codec: str, extradata: bytes | None) -> list[bytes]:
    """The VPS/SPS/PPS NAL units of an avcC or hvcC header; none for other forms."""
    if length_size(codec, extradata) is None:
        return []
    assert extradata is not None
    return _avcc_sets(extradata) if codec == "h264" else _hvcc_sets(extradata)


def in_band(codec: str, extradata: bytes | None, data: bytes) -> bytes:
    """A keyframe packet with the header's parameter sets written in front of it."""
    units = parameter_sets(codec, extradata)
    size = length_size(codec, extradata)
    if not units or size is None:
        return data
    return length_prefixed(units, size) + data


def _avcc_sets(extradata: bytes) -> list[bytes]:
    units: list[bytes] = []
    at = 5
    for _ in range(2):  # SPS then PPS
        count = extradata[at] & (0x1F if not units else 0xFF)
        at += 1
        for _ in range(count):
            at = _take(extradata, at, units)
        if at >= len(extradata):
            break
    return units


def _hvcc_sets(extradata: bytes) -> list[bytes]:
    units: list[bytes] = []
    arrays, at = extradata[22], 23
    for _ in range(arrays):
        count = int.from_bytes(extradata[at + 1 : at + 3], "big")
        at += 3
        for _ in range(count):
            at = _take(extradata, at, units)
    return units


def _take(buffer: bytes, at: int, units: list[bytes]) -> int:
    length = int.from_bytes(buffer[at : at + 2], "big")
    units.append(buffer[at + 2 : at + 2 + length])
    return at + 2 + length


def disposable(codec: str, data: bytes, extradata: bytes | None) -> bool:
    """Whether no other frame refers to this packet's picture, so a decoder that only needs
    the pictures after it may skip it (H.264 nal_ref_idc 0, HEVC sub-layer non-reference
    types). Unknown codecs and forms: False, always safe."""
    if codec not in PARAMETER_SET_CODECS:  # VP9, AV1...: not NAL units at all
        return False
    size = length_size(codec, extradata)
    units = annexb_units(data) if size is None else _length_units(data, size)
    for unit in units:
        if not unit:
            continue
        if codec == "h264" and 1 <= unit[0] & 0x1F <= 5:
            return unit[0] >> 5 & 3 == 0
        if codec == "hevc" and unit[0] >> 1 & 0x3F < 32:
            kind = unit[0] >> 1 & 0x3F
            return kind < 16 and kind % 2 == 0
    return False


def _length_units(data: bytes, size: int) -> list[bytes]:
    units, at = [], 0
    while at + size <= len(data):
        length = int.from_bytes(data[at : at + size], "big")
        units.append(data[at + size : at + size + length])
        at += size + length
    return units
