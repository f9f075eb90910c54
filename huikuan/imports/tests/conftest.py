import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read the import's row reasons in English; don't depend on what ran before."""
    with translation.override("en"):
        yield
