"""Sealing the collection cache when people must stay anonymous.

With ``per-person: anonymous`` and a secret ``pseudonym-salt``, the cache's weekly parts
(every record's author, reviewers and commenters) are encrypted with a key derived from that
salt, so nothing readable on the history branch names a person, while the next run, which
has the same secret, still reads them. AES-SIV is deterministic: the same week encrypts to
the same bytes, so a week that did not change keeps its blob and is not written again. The
result is base64 text, which goes inline in the tree like any other part.

Without a secret salt the pseudonyms' salt lies on the branch itself, so sealing with it
would hide nothing; the README says so.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = b"sealed:v1:"


class SealError(ValueError):
    """A sealed part this run cannot open (another salt, or damaged)."""


class Seal:
    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=None, info=b"ghaction-metrics cache"
        ).derive(secret.encode("utf-8"))
        self._cipher = AESSIV(key)

    def close(self, name: str, data: bytes) -> bytes:
        """``data`` encrypted, bound to the part's ``name`` so parts cannot be swapped."""
        sealed = self._cipher.encrypt(data, [name.encode("utf-8")])
        return _PREFIX + base64.b64encode(sealed) + b"\n"

    def open(self, name: str, data: bytes) -> bytes:
        """The plain part; a part written unsealed (before anonymity was asked) as it is."""
        if not is_sealed(data):
            return data
        try:
            sealed = base64.b64decode(data[len(_PREFIX) :].strip(), validate=True)
            return self._cipher.decrypt(sealed, [name.encode("utf-8")])
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SealError(
                f"part {name} is sealed with another pseudonym-salt, or damaged"
            ) from exc


def is_sealed(data: bytes) -> bool:
    return data.startswith(_PREFIX)


def seal_for(per_person: str, pseudonym_salt: str) -> Seal | None:
    """The seal of a run's cache: only anonymous runs with a secret salt seal it."""
    return Seal(pseudonym_salt) if per_person == "anonymous" and pseudonym_salt else None
