"""Stop strings over streamed text.

Text arrives in pieces (one token's worth, already whole UTF-8 characters
thanks to bn_detok). A stop string may straddle pieces, so the tail that
could still grow into a stop string is held back; nothing from a stop
string onward is ever emitted.
"""


class StopMatcher:
    def __init__(self, stops):
        self.stops = list(stops)
        self.buf = ""

    def feed(self, text):
        """Add text; return (safe_to_emit, stopped). After stopped, the
        matcher is finished and the rest is discarded."""
        self.buf += text
        if not self.stops:
            out, self.buf = self.buf, ""
            return out, False
        hits = [i for i in (self.buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.buf = self.buf[:min(hits)], ""
            return out, True
        keep = self._held()
        cut = len(self.buf) - keep
        out, self.buf = self.buf[:cut], self.buf[cut:]
        return out, False

    def finish(self):
        """The end of generation: what was held back is plain text after all."""
        out, self.buf = self.buf, ""
        return out

    def _held(self):
        # Longest suffix of buf that is a proper prefix of some stop string.
        best = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.buf)), best, -1):
                if self.buf.endswith(s[:k]):
                    best = k
                    break
        return best
