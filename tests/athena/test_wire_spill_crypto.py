"""AES-GCM block crypto (SDK-compatible layout) and the byte content of spill objects."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyarrow import ipc

from athena_connector.wire import (
    EncryptionKey,
    S3SpillLocation,
    WireError,
    decode_spill_object,
    decrypt,
    encode_spill_object,
    encrypt,
    generate_key,
)
from athena_connector.wire.arrow_ipc import batch_to_bytes, framing_of
from athena_connector.wire.versions import IpcFraming

BATCH = pa.RecordBatch.from_pydict({"id": [1, 2, 3], "name": ["a", None, "c"]})


def test_known_answer_ciphertext_then_tag() -> None:
    """NIST GCM test case 2 (AES-128, zero key/IV, one zero block): output is ciphertext || 16-byte tag,
    exactly Java's Cipher.doFinal layout for AES/GCM/NoPadding with a 128-bit tag."""
    key = EncryptionKey(bytes(16), bytes(12))
    out = encrypt(key, bytes(16))
    assert out.hex() == "0388dace60b6a392f328c2b971b2fe78" + "ab6e47d42cec13bdf53a67b21257bddf"
    assert decrypt(key, out) == bytes(16)


def test_known_answer_empty_plaintext_is_just_the_tag() -> None:
    """NIST GCM test case 1: empty plaintext encrypts to the bare tag."""
    assert encrypt(EncryptionKey(bytes(16), bytes(12)), b"").hex() == "58e2fccefa7e3061367f1d57a4e7455a"


@pytest.mark.parametrize("size", [16, 24, 32])
def test_generated_keys_round_trip(size: int) -> None:
    key = generate_key(size)
    assert (len(key.key), len(key.nonce)) == (size, 12)
    assert generate_key(size) != key
    assert decrypt(key, encrypt(key, b"payload")) == b"payload"
    assert len(encrypt(key, b"payload")) == len(b"payload") + 16


def test_default_key_is_32_bytes_and_repr_hides_it() -> None:
    key = generate_key()
    assert len(key.key) == 32
    assert key.key.hex() not in repr(key) and "32 bytes" in repr(key)


@pytest.mark.parametrize(
    ("key", "match"),
    [
        (EncryptionKey(b"test-key", b"test-nonce"), "nonce"),  # the vectors' placeholder material
        (EncryptionKey(bytes(16), bytes(16)), "nonce"),
        (EncryptionKey(bytes(8), bytes(12)), "AES key"),
    ],
)
def test_invalid_key_material_is_refused(key: EncryptionKey, match: str) -> None:
    with pytest.raises(WireError, match=match):
        encrypt(key, b"x")


def test_tampering_and_wrong_key_are_detected() -> None:
    key = generate_key()
    data = bytearray(encrypt(key, b"secret rows"))
    data[0] ^= 1
    with pytest.raises(WireError, match="authentication failed"):
        decrypt(key, bytes(data))
    with pytest.raises(WireError, match="authentication failed"):
        decrypt(generate_key(), encrypt(key, b"secret rows"))
    with pytest.raises(WireError, match="shorter than"):
        decrypt(key, b"short")


def test_spill_object_is_a_legacy_v4_batch_message_encrypted() -> None:
    key = generate_key()
    body = encode_spill_object(BATCH, key)
    plaintext = decrypt(key, body)
    assert plaintext == batch_to_bytes(BATCH, IpcFraming.LEGACY)
    assert framing_of(plaintext) is IpcFraming.LEGACY
    assert ipc.read_message(pa.py_buffer(plaintext)).metadata_version == ipc.MetadataVersion.V4
    assert decode_spill_object(body, BATCH.schema, key).equals(BATCH)


def test_unencrypted_spill_object_is_the_raw_message() -> None:
    body = encode_spill_object(BATCH, None)
    assert body == batch_to_bytes(BATCH, IpcFraming.LEGACY)
    assert decode_spill_object(body, BATCH.schema, None).equals(BATCH)


def test_modern_framing_spill_objects_are_also_readable() -> None:
    key = generate_key()
    body = encode_spill_object(BATCH, key, IpcFraming.MODERN)
    assert framing_of(decrypt(key, body)) is IpcFraming.MODERN
    assert decode_spill_object(body, BATCH.schema, key).equals(BATCH)


def test_spill_block_locations_are_numbered_files() -> None:
    split_location = S3SpillLocation("bucket", "athena-federation-spill/q1/uuid", True)
    assert [split_location.block(n) for n in range(2)] == [
        S3SpillLocation("bucket", "athena-federation-spill/q1/uuid.0", False),
        S3SpillLocation("bucket", "athena-federation-spill/q1/uuid.1", False),
    ]
    with pytest.raises(ValueError):
        split_location.block(-1)
