"""Content of spill objects (no S3 calls here): what the engine's S3 block reader expects.

A spill object is one bare Arrow RecordBatch IPC message (no schema, no end-of-stream) in the legacy
framing with metadata V4 (the SDK uses it regardless of serde version; the engine reads either framing),
AES-GCM encrypted with the split's key when the split has one, raw otherwise. Block ``n`` of a split is
stored at ``<split key>.<n>`` (see ``S3SpillLocation.block``); the schema travels in the response.
"""

from __future__ import annotations

import pyarrow as pa

from athena_connector.wire import block_crypto
from athena_connector.wire.arrow_ipc import batch_from_bytes, batch_to_bytes
from athena_connector.wire.splits import EncryptionKey
from athena_connector.wire.versions import IpcFraming


def encode_spill_object(
    batch: pa.RecordBatch, key: EncryptionKey | None, framing: IpcFraming = IpcFraming.LEGACY
) -> bytes:
    """Bytes to PUT for one spilled block."""
    plaintext = batch_to_bytes(batch, framing, "spill")
    return plaintext if key is None else block_crypto.encrypt(key, plaintext, "spill.encryptionKey")


def decode_spill_object(data: bytes, schema: pa.Schema, key: EncryptionKey | None) -> pa.RecordBatch:
    """What the engine does with a spilled object: decrypt if keyed, decode with the response schema."""
    plaintext = data if key is None else block_crypto.decrypt(key, data, "spill.encryptionKey")
    return batch_from_bytes(plaintext, schema, "spill")
