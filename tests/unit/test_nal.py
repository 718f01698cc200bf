"""The smart cut's bitstream helpers meet packets of every codec a trim copies."""

from runner.engine.video.nal import annexb_units, disposable

# A VP9 packet: a frame header and compressed data, no start code anywhere in it.
VP9_PACKET = bytes([0x86, 0x00, 0x40, 0x92, 0x88, 0x2C, 0x49, 0xE0, 0x00, 0x91, 0x7F])


def test_a_packet_that_is_not_h264_or_hevc_is_never_skipped() -> None:
    assert disposable("vp9", VP9_PACKET, None) is False
    assert disposable("av1", VP9_PACKET, b"\x81\x00\x0c\x00") is False


def test_annex_b_without_start_codes_has_no_units() -> None:
    assert annexb_units(VP9_PACKET) == []


def test_annex_b_units_and_their_reference_flag() -> None:
    non_reference = b"\x00\x00\x00\x01\x01\x9a\x10" + b"\x00\x00\x01\x01\x9b"  # nal_ref_idc 0
    assert annexb_units(non_reference) == [b"\x01\x9a\x10", b"\x01\x9b"]
    assert disposable("h264", non_reference, None) is True
    reference = b"\x00\x00\x01\x41\x9a"  # a P slice others refer to (nal_ref_idc 2)
    assert disposable("h264", reference, None) is False
