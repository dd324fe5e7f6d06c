"""AES-GCM encryption of spilled blocks, byte-compatible with the SDK's AesGcmBlockCrypto.

Layout: ``ciphertext || 16-byte tag`` (Java ``Cipher.doFinal`` with AES/GCM/NoPadding, 128-bit tag), no
associated data, nonce not stored in the object. One key + 12-byte nonce per split encrypts every block of
that split (the protocol has a single key per RemoteReadRecordsResponse), so generate fresh material for
every split and never reuse it across splits or queries.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from athena_connector.wire.errors import WireError
from athena_connector.wire.splits import EncryptionKey

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32  # what the SDK's local key factory generates (a KMS AES_128 data key is 16)
_VALID_KEY_BYTES = (16, 24, 32)


def generate_key(key_bytes: int = KEY_BYTES) -> EncryptionKey:
    """Fresh random key and nonce for one split."""
    if key_bytes not in _VALID_KEY_BYTES:
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, not {key_bytes}")
    return EncryptionKey(os.urandom(key_bytes), os.urandom(NONCE_BYTES))


def _cipher(key: EncryptionKey, path: str) -> AESGCM:
    if len(key.nonce) != NONCE_BYTES:
        raise WireError(f"{path}.nonce", f"expected {NONCE_BYTES} nonce bytes, found {len(key.nonce)}")
    if len(key.key) not in _VALID_KEY_BYTES:
        raise WireError(f"{path}.key", f"expected a 16, 24 or 32 byte AES key, found {len(key.key)} bytes")
    return AESGCM(bytes(key.key))


def encrypt(key: EncryptionKey, plaintext: bytes, path: str = "encryptionKey") -> bytes:
    return _cipher(key, path).encrypt(bytes(key.nonce), plaintext, None)


def decrypt(key: EncryptionKey, data: bytes, path: str = "encryptionKey") -> bytes:
    """Inverse of :func:`encrypt`; a wrong key, nonce or tampered data raises WireError."""
    if len(data) < TAG_BYTES:
        raise WireError(path, f"encrypted block is {len(data)} bytes, shorter than the {TAG_BYTES}-byte tag")
    try:
        return _cipher(key, path).decrypt(bytes(key.nonce), data, None)
    except InvalidTag as exc:
        raise WireError(path, "AES-GCM authentication failed (wrong key/nonce or corrupted block)") from exc
