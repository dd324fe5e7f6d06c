"""Serde versions and what they change on the wire.

The connector declares one serde version in PingResponse; the engine then speaks that dialect. Only two
things vary with it in the JSON we emit: the Arrow IPC framing inside base64 strings (V2 legacy, V3+ modern)
and which keys a Constraints object / GetTableRequest carries (V4 pushdown, V5 passthrough, V6 plan).
"""

from __future__ import annotations

import enum

from athena_connector.wire.errors import WireError

# What we declare in PingResponse: V5 = pushdown + query passthrough, no Substrait plans (V6). The SDK itself
# is at 6; requests of any dialect 1..6 are still parsed.
SERDE_VERSION = 5

# SDK feature level (not a bitfield): 23 = preview, 24 = explicit versioned serialization. The SDK ships 24.
CAPABILITIES = 24

MIN_EMIT_VERSION = 2
MAX_EMIT_VERSION = 6


class IpcFraming(enum.Enum):
    """How one Arrow IPC message is framed inside a base64 string."""

    LEGACY = "legacy"  # int32 length, flatbuffer with metadata V4 (serde V2 and every spill object)
    MODERN = "modern"  # 0xFFFFFFFF continuation, int32 length, flatbuffer with metadata V5 (serde V3+)


def check_emit_version(serde_version: int) -> int:
    """Reject versions we cannot emit (V1 was Jackson-annotation JSON with a different shape)."""
    if isinstance(serde_version, bool) or not isinstance(serde_version, int):
        raise WireError("serde_version", f"expected an integer, got {serde_version!r}")
    if not MIN_EMIT_VERSION <= serde_version <= MAX_EMIT_VERSION:
        raise WireError(
            "serde_version",
            f"can only emit versions {MIN_EMIT_VERSION}..{MAX_EMIT_VERSION}, got {serde_version}",
        )
    return serde_version


def framing_for(serde_version: int) -> IpcFraming:
    """Arrow framing used for schema/records strings by a given serde version."""
    return IpcFraming.LEGACY if check_emit_version(serde_version) < 3 else IpcFraming.MODERN
