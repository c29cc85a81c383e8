"""Putting a channel's numbered messages back in order, exactly once."""

from services.hub.sequencer import Sequencer


def test_in_order_messages_pass_straight_through() -> None:
    seq: Sequencer[str] = Sequencer()
    assert [seq.push("a", n, f"m{n}") for n in (1, 2, 3)] == [(["m1"], False), (["m2"], False), (["m3"], False)]
    assert seq.position("a") == 3


def test_an_early_message_waits_for_its_predecessor() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.start_at("a", 4)
    assert seq.push("a", 6, "m6") == ([], False)
    assert seq.waiting("a")
    assert seq.push("a", 7, "m7") == ([], False)
    assert seq.push("a", 5, "m5") == (["m5", "m6", "m7"], False)
    assert not seq.waiting("a")


def test_repeats_are_dropped() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.push("a", 1, "m1")
    assert seq.push("a", 1, "again") == ([], False)
    seq.push("a", 3, "m3")
    assert seq.push("a", 3, "again") == ([], False)
    assert seq.duplicates == 2


def test_a_gap_that_never_fills_is_skipped() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.start_at("a", 1)
    seq.push("a", 4, "m4")
    seq.push("a", 5, "m5")
    seq.push("a", 7, "m7")
    assert seq.skip_gap("a") == ["m4", "m5"]
    assert seq.gaps_skipped == 2
    assert seq.waiting("a")  # 6 is still missing
    assert seq.skip_gap("a") == ["m7"]
    assert seq.push("a", 6, "late") == ([], False)


def test_the_hold_back_buffer_is_bounded() -> None:
    seq: Sequencer[int] = Sequencer(max_held=3)
    seq.start_at("a", 0)
    for n in (2, 3, 4):
        assert seq.push("a", n, n) == ([], False)
    assert seq.push("a", 5, 5) == ([2, 3, 4, 5], False)


def test_seq_one_after_higher_numbers_is_a_new_epoch() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.start_at("a", 40)
    seq.push("a", 42, "held")
    assert seq.push("a", 1, "fresh") == (["fresh"], True)
    assert seq.push("a", 2, "next") == (["next"], False)


def test_the_first_message_sets_the_position_when_none_is_known() -> None:
    seq: Sequencer[str] = Sequencer()
    assert seq.push("a", 17, "m17") == (["m17"], False)
    seq.start_at("a", 3)  # too late: the channel already has a position
    assert seq.push("a", 18, "m18") == (["m18"], False)
    seq.forget("a")
    assert seq.position("a") is None
