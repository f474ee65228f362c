"""CIDs, and the one check every read goes through: do these bytes hash to this CID.

CID, multihash and multibase handling is delegated to the maintained ``multiformats`` library;
this module only fixes the conventions ``ipfs add`` uses (sha2-256; CIDv0 in base58btc, CIDv1
in base32) and turns library exceptions into :mod:`fedmarket.errors` ones.
"""

from __future__ import annotations

import gc
import hashlib

from multiformats import CID, multibase, multihash

from fedmarket.errors import IntegrityError, StorageError
from fedmarket.storage.dagpb import decode_varint

__all__ = [
    "CID",
    "DAG_PB",
    "RAW",
    "MAX_BLOCK_SIZE",
    "cid_for",
    "parse_cid",
    "verify_block",
    "block_key",
    "cid_length",
    "cid_from_bytes",
]

DAG_PB = "dag-pb"
RAW = "raw"
# Kubo refuses to import blocks above 1 MiB and bitswap will not carry ones above 2 MiB; a
# larger "block" on disk or in a CAR is junk, and refusing it keeps reads bounded in memory.
MAX_BLOCK_SIZE = 2 * 1024 * 1024


def _free_validation_cycles() -> None:
    """Collect the youngest GC generation now.

    multiformats validates arguments with ``typing_validation``, which keeps the TypeErrors of
    failed Union members in a list inside the raising frame: a reference cycle that holds
    that frame and, through ``f_back``, every caller's locals — here, 256 KiB blocks. Left
    to the automatic collector, a 20 MiB import peaked at 8 MiB of dead blocks; a gen-0
    collection right after each call frees them while they are young (and costs microseconds).
    """
    gc.collect(0)


def _sha2_256(block: bytes) -> bytes:
    # hashlib directly (multihash.digest would take the block through argument validation).
    digest = bytes(multihash.wrap(hashlib.sha256(block).digest(), "sha2-256"))
    _free_validation_cycles()
    return digest


def cid_for(block: bytes, *, version: int, codec: str) -> CID:
    """The CID of ``block`` as ``ipfs add`` would name it (sha2-256)."""
    digest = _sha2_256(block)
    if version == 0:
        if codec != DAG_PB:
            raise ValueError("CIDv0 can only name dag-pb blocks")
        cid = CID("base58btc", 0, DAG_PB, digest)
    elif version == 1:
        cid = CID("base32", 1, codec, digest)
    else:
        raise ValueError(f"unknown CID version {version}")
    _free_validation_cycles()
    return cid


def parse_cid(value: str | CID) -> CID:
    """Parse a CID string (``Qm…``, ``bafy…``, any multibase), with a readable error."""
    if isinstance(value, CID):
        return value
    text = value.strip()
    if text.startswith("/ipfs/"):
        text = text[len("/ipfs/") :]
    try:
        cid = CID.decode(text)
    except Exception as exc:  # the library raises KeyError, ValueError and binascii.Error
        raise StorageError(f"not a valid CID: {value!r}") from exc
    if cid.codec.name not in (DAG_PB, RAW):
        raise StorageError(f"{value}: unsupported codec {cid.codec.name} (need dag-pb or raw)")
    return cid if cid.version == 0 else cid.set(base="base32")


def cid_from_bytes(raw: bytes) -> CID:
    """Decode a binary CID, printed as Kubo prints it (CIDv0 base58btc, CIDv1 base32)."""
    try:
        cid = CID.decode(raw)
    except Exception as exc:
        raise StorageError(f"unreadable binary CID {raw[:40].hex()}") from exc
    cid = cid if cid.version == 0 else cid.set(base="base32")
    _free_validation_cycles()
    return cid


def verify_block(cid: CID, block: bytes, where: str = "") -> None:
    """Raise :class:`IntegrityError` unless ``block`` hashes to ``cid``'s multihash."""
    if cid.hashfun.name == "sha2-256" and len(cid.raw_digest) == 32:
        actual = _sha2_256(block)
    else:
        try:
            actual = multihash.digest(block, cid.hashfun, size=len(cid.raw_digest))
        except Exception as exc:  # hash function the library cannot compute
            raise StorageError(f"block {cid}: cannot verify hash {cid.hashfun.name}") from exc
    if actual != bytes(cid.digest):
        suffix = f" ({where})" if where else ""
        raise IntegrityError(
            f"block {cid} is corrupted{suffix}: its {len(block)} bytes hash to "
            f"{multihash.unwrap(actual).hex()[:16]}…, not to the CID's digest"
        )


def block_key(cid: CID) -> str:
    """File-system key of a block: lowercase base32 of its multihash, as Kubo's flatfs uses.

    Keying by multihash (not by CID) means a dag-pb block named by CIDv0 and CIDv1 is stored
    once, and base32 keeps keys safe on case-insensitive file systems.
    """
    key = str(multibase.encode(bytes(cid.digest), "base32"))[1:]
    _free_validation_cycles()
    return key


def cid_length(buf: bytes | memoryview) -> int:
    """Length of the binary CID at the start of ``buf`` (CAR sections concatenate CID+block)."""
    if len(buf) >= 2 and buf[0] == 0x12 and buf[1] == 0x20:
        return 34  # CIDv0: a bare sha2-256 multihash
    version, pos = decode_varint(buf, 0)
    if version != 1:
        raise StorageError(f"unsupported CID version {version} in binary CID")
    _codec, pos = decode_varint(buf, pos)
    _hash_code, pos = decode_varint(buf, pos)
    digest_len, pos = decode_varint(buf, pos)
    end = pos + digest_len
    if end > len(buf):
        raise StorageError("truncated binary CID")
    return end
