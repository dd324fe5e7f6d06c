"""Arrow IPC messages inside the protocol's base64 strings.

Every ``schema``/``records`` string is ONE encapsulated IPC message (no stream header, no end-of-stream
marker, no file footer); a record batch is decoded with the schema carried next to it. Serde V2 and spill
objects use the legacy framing (no continuation marker, metadata V4); V3+ use the modern framing. Both
framings are accepted on input, as Arrow Java's reader does.
"""

from __future__ import annotations

import pyarrow as pa
from pyarrow import ipc

from athena_connector.wire._fields import decode_b64, encode_b64
from athena_connector.wire.arrow_checks import check_batch, check_schema
from athena_connector.wire.errors import WireError
from athena_connector.wire.versions import SERDE_VERSION, IpcFraming, framing_for

_CONTINUATION = b"\xff\xff\xff\xff"
_LEGACY_EOS_LEN = 4  # int32 zero
_MODERN_EOS_LEN = 8  # continuation marker + int32 zero


def _legacy_options() -> ipc.IpcWriteOptions:
    return ipc.IpcWriteOptions(use_legacy_format=True, metadata_version=ipc.MetadataVersion.V4)


def _write_stream(schema: pa.Schema, batch: pa.RecordBatch | None) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, schema, options=_legacy_options()) as writer:
        if batch is not None:
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _contains_dictionary(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        return True
    return any(_contains_dictionary(data_type.field(i).type) for i in range(data_type.num_fields))


def check_encodable(schema: pa.Schema, path: str) -> None:
    """A single message cannot carry dictionary batches, so dictionary-encoded columns are refused."""
    for field in schema:
        if _contains_dictionary(field.type):
            raise WireError(f"{path}.{field.name}", f"dictionary-encoded type {field.type} cannot be sent")


def schema_to_bytes(schema: pa.Schema, framing: IpcFraming, path: str = "schema") -> bytes:
    """One encapsulated Schema message (custom schema metadata included)."""
    check_encodable(schema, path)
    try:
        if framing is IpcFraming.MODERN:
            return schema.serialize().to_pybytes()
        return _write_stream(schema, None)[:-_LEGACY_EOS_LEN]
    except (pa.ArrowException, ValueError) as exc:
        raise WireError(path, f"cannot serialize Arrow schema: {exc}") from exc


def batch_to_bytes(batch: pa.RecordBatch, framing: IpcFraming, path: str = "records") -> bytes:
    """One encapsulated RecordBatch message (no schema, no end-of-stream)."""
    check_encodable(batch.schema, path)
    try:
        if framing is IpcFraming.MODERN:
            return batch.serialize().to_pybytes()
        # The writer emits the same schema message first in both streams, so the batch message is what
        # lies between the schema message and the end-of-stream marker.
        schema_len = len(_write_stream(batch.schema, None)) - _LEGACY_EOS_LEN
        return _write_stream(batch.schema, batch)[schema_len:-_LEGACY_EOS_LEN]
    except (pa.ArrowException, ValueError) as exc:
        raise WireError(path, f"cannot serialize Arrow record batch: {exc}") from exc


def framing_of(data: bytes) -> IpcFraming:
    """Which framing an encapsulated message uses (by its first four bytes)."""
    return IpcFraming.MODERN if data[:4] == _CONTINUATION else IpcFraming.LEGACY


def metadata_version_of(data: bytes) -> ipc.MetadataVersion:
    """Flatbuffer metadata version of an encapsulated message (V4 for legacy output, V5 for modern)."""
    return ipc.read_message(pa.py_buffer(data)).metadata_version


def schema_from_bytes(data: bytes, path: str = "schema") -> pa.Schema:
    if not data:
        raise WireError(path, "empty Arrow schema message")
    try:
        schema = ipc.read_schema(pa.py_buffer(data))
    except (pa.ArrowException, ValueError, OSError, EOFError) as exc:  # EOFError: a message cut short
        raise WireError(path, f"undecodable Arrow schema message: {exc}") from exc
    check_schema(schema, path)
    return schema


def batch_from_bytes(data: bytes, schema: pa.Schema, path: str = "records") -> pa.RecordBatch:
    try:
        batch = ipc.read_record_batch(pa.py_buffer(data), schema)
    except (pa.ArrowException, ValueError, OSError, EOFError) as exc:
        raise WireError(path, f"undecodable Arrow record batch message: {exc}") from exc
    check_batch(batch, path)  # in full: bad offsets must never reach the C++ kernels that read values
    return batch


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """A zero-row batch of ``schema`` (what an empty ``records`` string means)."""
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


def encode_schema(schema: pa.Schema, serde_version: int = SERDE_VERSION, path: str = "schema") -> str:
    """Base64 Schema message with the framing of ``serde_version``."""
    return encode_b64(schema_to_bytes(schema, framing_for(serde_version), path))


def decode_schema(text: object, path: str = "schema") -> pa.Schema:
    return schema_from_bytes(decode_b64(text, path), path)


def encode_records(batch: pa.RecordBatch, serde_version: int = SERDE_VERSION, path: str = "records") -> str:
    """Base64 RecordBatch message, or ``""`` for a zero-row batch (as the Java BlockSerializer writes)."""
    if batch.num_rows == 0:
        check_encodable(batch.schema, path)
        return ""
    return encode_b64(batch_to_bytes(batch, framing_for(serde_version), path))


def decode_records(text: object, schema: pa.Schema, path: str = "records") -> pa.RecordBatch:
    """Decode a ``records`` string; ``""`` (or null) is a zero-row batch of ``schema``."""
    if text is None or text == "":
        return empty_batch(schema)
    return batch_from_bytes(decode_b64(text, path), schema, path)
