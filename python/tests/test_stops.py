"""Stop strings over text that arrives in pieces (no model needed)."""
from bitnet._stops import StopMatcher


def run(stops, pieces):
    m, out = StopMatcher(stops), []
    for p in pieces:
        text, stopped = m.feed(p)
        out.append(text)
        if stopped:
            return out, True
    out.append(m.finish())
    return out, False


def test_stop_across_pieces_never_leaks():
    out, stopped = run(["END"], ["abc E", "N", "D tail"])
    assert stopped and "".join(out) == "abc "
    assert out[0] == "abc "  # "E" is held back while it may start "END"


def test_false_start_is_released():
    out, stopped = run(["END"], ["abc E", "Nx", "y"])
    assert not stopped and "".join(out) == "abc ENxy"


def test_earliest_of_several_stops():
    out, stopped = run(["world", "lo w"], ["hello world"])
    assert stopped and "".join(out) == "hel"


def test_held_tail_flushed_at_end():
    out, stopped = run(["END"], ["abc EN"])
    assert not stopped and out == ["abc ", "EN"]


def test_no_stops_passes_through():
    assert run([], ["a", "b"]) == (["a", "b", ""], False)
