"""Reading spilled blocks as the engine does: S3 GetObject per remote block, AES-GCM decrypt with the
response's key (none: plaintext), decode the record batch with the response's schema."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from athena_connector.wire import EncryptionKey, S3SpillLocation, decode_spill_object
from saas_cli.errors import CliError, ProtocolError


class SpillReader:
    def __init__(self, s3: Any = None) -> None:
        self._s3 = s3
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._s3 is None:
                import boto3

                self._s3 = boto3.client("s3")
            return self._s3

    def read(
        self, schema: pa.Schema, locations: Sequence[S3SpillLocation], key: EncryptionKey | None
    ) -> tuple[list[pa.RecordBatch], int]:
        """The batches of every block, in order, and the bytes read from S3."""
        from botocore.exceptions import BotoCoreError, ClientError

        batches, size = [], 0
        for loc in locations:
            if loc.directory:
                raise ProtocolError(f"remote block s3://{loc.bucket}/{loc.key} is marked as a directory")
            if not loc.bucket:
                raise ProtocolError(f"remote block {loc.key} names no bucket")
            try:
                data = self.client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
            except (ClientError, BotoCoreError) as exc:
                raise CliError(f"cannot read spilled block s3://{loc.bucket}/{loc.key}: {exc}") from None
            size += len(data)
            try:
                batches.append(decode_spill_object(data, schema, key))
            except ValueError as exc:
                raise ProtocolError(f"spilled block s3://{loc.bucket}/{loc.key}: {exc}") from None
        return batches, size
