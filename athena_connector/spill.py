"""Where results go: inline in the response, or AES-GCM encrypted blocks in S3. Also the per-split keys.

Inline vs spill is decided on the real encoded size, not on Arrow's in-memory size (the peer SDK's bug: a
batch just under its threshold becomes a response over Lambda's 6 MB once base64-encoded). A result is
answered inline only when the whole ReadRecordsResponse JSON, base64 included, fits both the request's
``maxInlineBlockSize`` and Lambda's response limit; otherwise every row goes to S3 (a response is never
half inline, half spilled).

Spilling streams: rows arrive page by page; as soon as the rows waiting exceed what could still be inline,
the writer switches to spilling, and whenever the waiting rows reach the block target it cuts one block,
serializes it, checks the serialized size against ``maxBlockSize`` (halving the block when it is over),
encrypts it with the split's key and PUTs it as ``<split key>.<n>`` (n = 0, 1, ... dense, in order). The
target is half of ``maxBlockSize`` (Athena enforces the limit on its side and its size estimate differs from
ours; the SDK's issue #337 is what happens without a margin). At most two PUTs run in the background, so the
memory held is bounded by a few blocks, not by the size of the entity.

Keys: one fresh AES key + 12-byte nonce per split (32 random bytes, or a KMS data key when ``kms_key_id`` is
set), or none when spill encryption is disabled. The protocol has one key per response, so every block of a
split is encrypted under the same key and nonce, as in the SDK.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from athena_connector.config import ConnectorConfig
from athena_connector.errors import InternalServiceException
from athena_connector.wire import (
    Block,
    EncryptionKey,
    ReadRecordsResponse,
    RemoteReadRecordsResponse,
    S3SpillLocation,
    encrypt,
    generate_key,
    to_wire,
)
from athena_connector.wire.arrow_ipc import batch_to_bytes
from athena_connector.wire.block_crypto import NONCE_BYTES
from athena_connector.wire.versions import SERDE_VERSION, IpcFraming, framing_for
from shared import aws
from shared.deadline import Deadline
from shared.errors import ConfigError
from shared.redaction import register_data_key

log = logging.getLogger(__name__)

# Lambda's synchronous response limit is 6 MB (6,291,456 bytes); keep a margin for the runtime's framing.
LAMBDA_RESPONSE_LIMIT = 6_000_000
BLOCK_FILL = 0.5  # cut spilled blocks at half of maxBlockSize
MAX_PUTS_IN_FLIGHT = 2
DELETE_BATCH = 1000  # keys per S3 DeleteObjects call


# ------------------------------------------------------------------------------------------- keys


class KeyFactory(Protocol):
    def new_key(self) -> EncryptionKey | None: ...


class NoEncryption:
    def new_key(self) -> EncryptionKey | None:
        return None


class LocalKeys:
    """32 random bytes from the OS and a random nonce per split (the SDK's local key factory)."""

    def new_key(self) -> EncryptionKey | None:
        key = generate_key()
        register_data_key(key.key)
        return key


class KmsKeys:
    """A KMS data key (AES_128) per split, with a random 12-byte nonce (the SDK's KMS key factory)."""

    def __init__(self, key_id: str, kms: Any = None) -> None:
        self.key_id = key_id
        self._kms = kms

    def new_key(self) -> EncryptionKey | None:
        params = {"KeyId": self.key_id, "KeySpec": "AES_128"}
        try:
            if self._kms is not None:
                answer = self._kms.generate_data_key(**params)
            else:
                answer = aws.call("kms", "GenerateDataKey", params, what=f"key '{self.key_id}'")
        except aws.AwsTimeoutError:
            raise
        except Exception as exc:
            raise ConfigError(f"cannot get a data key from KMS key '{self.key_id}' (kms_key_id): {exc}") from exc
        plaintext = bytes(answer["Plaintext"])
        register_data_key(plaintext)
        return EncryptionKey(plaintext, os.urandom(NONCE_BYTES))


def key_factory(config: ConnectorConfig) -> KeyFactory:
    if not config.encrypt_spill:
        return NoEncryption()
    if config.kms_key_id:
        return KmsKeys(config.kms_key_id)
    return LocalKeys()


# ---------------------------------------------------------------------------------------------- S3


class BlockStore(Protocol):
    def put(self, location: S3SpillLocation, data: bytes) -> None: ...


class S3BlockStore:
    """Spilled blocks in S3. Each PUT ends by ``deadline`` (default: the current request's, taken when the store is
    made, since PUTs run in other threads): timeouts and attempts fit the time left, or a typed timeout error."""

    def __init__(self, s3: Any = None, deadline: Deadline | None = None) -> None:
        self._s3 = s3
        self.deadline = deadline or aws.current_deadline()

    def put(self, location: S3SpillLocation, data: bytes) -> None:
        params = {"Bucket": location.bucket, "Key": location.key, "Body": data}
        try:
            if self._s3 is not None:
                self._s3.put_object(**params)
            else:
                aws.call("s3", "PutObject", params, deadline=self.deadline, what=_uri(location))
        except aws.AwsTimeoutError:
            raise
        except Exception as exc:
            raise InternalServiceException(
                f"cannot write spilled block s3://{location.bucket}/{location.key}: {exc}"
            ) from exc

    def delete(self, locations: list[S3SpillLocation]) -> None:
        """Delete blocks (a key that was never written is no error); raise when S3 refuses any. Like the PUTs,
        each call ends by the deadline (the read's margin is what is left for it after a read that ran out)."""
        by_bucket: dict[str, list[str]] = defaultdict(list)
        for location in locations:
            if location.bucket is not None:
                by_bucket[location.bucket].append(location.key)
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), DELETE_BATCH):
                batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
                params = {"Bucket": bucket, "Delete": {"Objects": batch, "Quiet": True}}
                if self._s3 is not None:
                    answer = self._s3.delete_objects(**params)
                else:
                    answer = aws.call("s3", "DeleteObjects", params, deadline=self.deadline, what=f"s3://{bucket}")
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise InternalServiceException(
                        f"S3 did not delete {len(answer['Errors'])} spilled block(s) in s3://{bucket}, e.g. "
                        f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                    )


def _uri(location: S3SpillLocation) -> str:
    return f"s3://{location.bucket}/{location.key}"


# ------------------------------------------------------------------------------------ result writer


@dataclass
class WriterStats:
    rows: int = 0
    inline_bytes: int = 0
    spilled_bytes: int = 0
    spilled_blocks: int = 0
    peak_pending_bytes: int = 0


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def _combine(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    if not batches:
        return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)
    concat = getattr(pa, "concat_batches", None)  # pyarrow >= 19
    if concat is not None:
        return concat(batches)
    (combined,) = pa.Table.from_batches(batches).combine_chunks().to_batches()
    return combined


class ResultWriter:
    """Collects the (filtered, projected) batches of one split and answers inline or from S3.

    ``schema`` is the request's schema (every block and the response use it). ``spill`` is the split's spill
    location (a directory key) and ``key`` its encryption key.
    """

    def __init__(
        self,
        *,
        catalog_name: str,
        schema: pa.Schema,
        spill: S3SpillLocation,
        key: EncryptionKey | None,
        max_block_size: int,
        max_inline_block_size: int,
        store: BlockStore | None = None,
        serde_version: int = SERDE_VERSION,
        executor_factory: Callable[[], ThreadPoolExecutor] | None = None,
    ) -> None:
        self.catalog_name = catalog_name
        self.schema = schema
        self.spill = spill
        self.key = key
        self.max_block_size = max(1, max_block_size)
        self.block_target = max(1, int(self.max_block_size * BLOCK_FILL))
        self.inline_limit = min(max(0, max_inline_block_size), LAMBDA_RESPONSE_LIMIT)
        self.store = store or S3BlockStore()  # made here, in the request's thread: it takes the request's deadline
        self.serde_version = serde_version
        self.stats = WriterStats()
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._spilling = False
        self._locations: list[S3SpillLocation] = []
        self._futures: list[Future[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._executor_factory = executor_factory or (
            lambda: ThreadPoolExecutor(max_workers=MAX_PUTS_IN_FLIGHT, thread_name_prefix="spill")
        )
        self._overhead = self._inline_overhead()

    # -- sizes ---------------------------------------------------------------------------------
    def _inline_overhead(self) -> int:
        """Bytes of an inline response besides the records' base64 (schema, ids, keys, punctuation)."""
        empty = ReadRecordsResponse(self.catalog_name, Block(_combine([], self.schema)))
        return len(json.dumps(to_wire(empty, self.serde_version)))

    def _estimated_inline(self) -> int:
        return self._overhead + _b64_len(self._pending_bytes + 1024)

    # -- input ---------------------------------------------------------------------------------
    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.stats.rows += batch.num_rows
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        self.stats.peak_pending_bytes = max(self.stats.peak_pending_bytes, self._pending_bytes)
        if not self._spilling and self.schema.names and self._estimated_inline() > self.inline_limit * 1.25:
            self._spilling = True  # clearly too big to answer inline: start streaming to S3 now
        if self._spilling:
            while self._pending_bytes >= self.block_target:
                self._flush_one(self.block_target)

    @property
    def rows(self) -> int:
        return self.stats.rows

    # -- output --------------------------------------------------------------------------------
    def finish(self) -> ReadRecordsResponse | RemoteReadRecordsResponse:
        try:
            if not self._spilling:
                batch = _combine(self._pending, self.schema)
                if batch.num_rows == 0 or not self.schema.names:
                    return self._inline(batch, None)
                encoded = batch_to_bytes(batch, framing_for(self.serde_version))
                size = self._overhead + _b64_len(len(encoded))
                if size <= self.inline_limit:
                    return self._inline(batch, size)
                self._spilling = True
            while self._pending:
                self._flush_one(self.block_target)
            self._drain(0)
        finally:
            self.close()
        return RemoteReadRecordsResponse(self.catalog_name, self.schema, list(self._locations), self.key)

    def _inline(self, batch: pa.RecordBatch, size: int | None) -> ReadRecordsResponse:
        if not self.schema.names:  # zero columns (count(*)): only the row count travels
            batch = pa.record_batch({"_": pa.nulls(self.stats.rows)}).select([])
        batch = batch.replace_schema_metadata(self.schema.metadata)
        self.stats.inline_bytes = size if size is not None else self._overhead + _b64_len(batch.nbytes)
        return ReadRecordsResponse(self.catalog_name, Block(batch))

    def discard(self) -> int:
        """Delete the blocks spilled for a response that will not be given (a failed read); return how many.

        Best effort: after the PUTs in flight have ended, one DeleteObjects call per 1000 blocks; a failure is
        logged, and the spill bucket's lifecycle rule removes what is left."""
        self.close()
        delete = getattr(self.store, "delete", None)
        if not self._locations or delete is None:
            return 0
        try:
            delete(list(self._locations))
        except Exception as exc:
            log.warning("could not delete the %d block(s) spilled by a failed read: %s", len(self._locations), exc)
            return 0
        deleted, self._locations = len(self._locations), []
        return deleted

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    # -- spilling ------------------------------------------------------------------------------
    def _take(self, target: int) -> pa.RecordBatch:
        """Remove about ``target`` bytes of rows (at least one row) from the front of the pending rows."""
        taken: list[pa.RecordBatch] = []
        size = 0
        while self._pending and size < target:
            head = self._pending[0]
            room = target - size
            if head.nbytes <= room or head.num_rows == 1:
                taken.append(self._pending.pop(0))
                size += head.nbytes
                continue
            per_row = max(1, head.nbytes // head.num_rows)
            rows = max(1, min(head.num_rows - 1, room // per_row))
            part, rest = head.slice(0, rows), head.slice(rows)
            taken.append(part)
            self._pending[0] = rest
            size += part.nbytes
            break
        self._pending_bytes = sum(b.nbytes for b in self._pending)
        return _combine(taken, self.schema)

    def _flush_one(self, target: int) -> None:
        batch = self._take(target)
        for piece in self._fit(batch):
            self._write(piece)

    def _fit(self, batch: pa.RecordBatch) -> list[tuple[pa.RecordBatch, bytes]]:
        """Serialized pieces of ``batch``, each within maxBlockSize (halving by rows when over)."""
        data = batch_to_bytes(batch, IpcFraming.LEGACY, "spill")
        if len(data) <= self.max_block_size:
            return [(batch, data)]
        if batch.num_rows <= 1:
            raise InternalServiceException(
                f"one row is {len(data)} bytes once serialized, more than maxBlockSize={self.max_block_size}"
            )
        half = batch.num_rows // 2
        return self._fit(batch.slice(0, half)) + self._fit(batch.slice(half))

    def _write(self, piece: tuple[pa.RecordBatch, bytes]) -> None:
        _, plaintext = piece
        if self.spill.bucket is None:
            raise InternalServiceException(
                "the result is too large for an inline response and no spill bucket is configured "
                "(set the spill_bucket environment variable)"
            )
        location = self.spill.block(len(self._locations))
        self._locations.append(location)
        # The content of encode_spill_object (legacy-framed batch, AES-GCM with the split's key), reusing the
        # bytes already serialized to check the size.
        body = plaintext if self.key is None else encrypt(self.key, plaintext, "spill.encryptionKey")
        self.stats.spilled_blocks += 1
        self.stats.spilled_bytes += len(body)
        self._drain(MAX_PUTS_IN_FLIGHT - 1)
        if self._executor is None:
            self._executor = self._executor_factory()
        self._futures.append(self._executor.submit(self.store.put, location, body))

    def _drain(self, keep: int) -> None:
        """Wait until at most ``keep`` PUTs are in flight, re-raising the first failure."""
        while len(self._futures) > keep:
            self._futures.pop(0).result()
