"""Mailboxes in the mbox format (``.mbox``; Thunderbird's folders, mailing-list archives,
Google Takeout's mail): many messages in one file, each opened by a ``From `` line.

RFC 4155: a message starts at a line beginning with ``From `` (the sender and the date it was
delivered follow) and runs to the next; a ``From `` at the start of a line of a body is
written ``>From`` by every mbox writer, so any such line is a message's start, as the
standard library's ``mailbox`` reads it. The ``From `` line is no header: it is left out of
the message (its sender is in the message's own ``From``).
"""

from __future__ import annotations

#: Messages read from one mailbox.
MOST_MESSAGES = 100_000
SEPARATOR = b"From "


def split(data: bytes) -> tuple[list[bytes], int]:
    """The messages of a mailbox, each without its ``From `` line, in order (a file that
    does not open with one is one message), and how many past ``MOST_MESSAGES`` were left
    out."""
    if not data.startswith(SEPARATOR):
        return [data], 0
    starts = [0]
    at = data.find(b"\nFrom ")
    while at >= 0:
        starts.append(at + 1)
        at = data.find(b"\nFrom ", at + 1)
    left_out = max(0, len(starts) - MOST_MESSAGES)
    out = []
    for n, start in enumerate(starts[:MOST_MESSAGES]):
        end = starts[n + 1] if n + 1 < len(starts) else len(data)
        line_end = data.find(b"\n", start, end)
        out.append(data[line_end + 1 : end] if line_end >= 0 else b"")
    return out, left_out
