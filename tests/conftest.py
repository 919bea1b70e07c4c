"""Fixtures shared by the unit and GUI tests."""

from __future__ import annotations

import pytest

from tests.fixtures.keyring import MemoryKeyring


@pytest.fixture
def ring():
    """An in-memory keychain, registered the way keyring supports, for one test."""
    import keyring

    ring, previous = MemoryKeyring(), keyring.get_keyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)
