from __future__ import annotations

import pytest

from tests.community.factories import make_style


@pytest.fixture
def artist(make_user):
    return make_user("painter", artist=True)


@pytest.fixture
def style(artist):
    return make_style(artist, tags=("ink",))


@pytest.fixture
def owner(make_user):
    """A buyer whose images the tests like and comment on."""
    return make_user("owner")


@pytest.fixture
def fan(make_user):
    return make_user("fan")
