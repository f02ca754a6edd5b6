"""The metrics the engine records besides message round trips, and the one rule that tells them apart.

Results, reports and comparisons all ask "is this a message?"; they ask here so they agree.
"""

from __future__ import annotations

CONNECT = "connect"
"""Time to open a connection (and its handshake)."""
FIRST_MESSAGE = "first_message"
"""Time from a connection opening to its first received message."""
PUSH_PREFIX = "push:"
"""Server-pushed messages (broadcasts), measured from their server timestamp: ``push:ws.broadcast``."""


def is_message(name: str) -> bool:
    """True for a request/response or one-way message metric, false for connect, first-message and push."""
    return name not in (CONNECT, FIRST_MESSAGE) and not name.startswith(PUSH_PREFIX)
