"""Fixtures for the report tests; the records themselves come from records_kit."""

import pytest

from records_kit import record, sample


@pytest.fixture
def make_record():
    return record


@pytest.fixture
def sample_records():
    return sample()
