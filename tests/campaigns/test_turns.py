"""Understanding a chat message: the ratio, the refinements, a new brief or only steering."""

from __future__ import annotations

import pytest

from stylevault.campaigns.turns import parse


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("new winter menu at my cafe, 3:4", "3:4"),
        ("우리 카페 겨울 신메뉴 4:5로", "4:5"),
        ("make it 9:16", "9:16"),
        ("인스타 스토리용으로", "9:16"),
        ("16x9 banner for the shop", "16:9"),
        ("open from 10:30 with a new menu", None),
    ],
)
def test_ratio(text, ratio):
    assert parse(text).aspect_ratio == ratio


def test_new_brief_keeps_the_promotion_without_the_ratio():
    turn = parse("new winter menu at my cafe, 3:4")
    assert not turn.refines_only and turn.brief == "new winter menu at my cafe,"


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("shorter please", "shorter", True),
        ("더 짧게 해줘", "shorter", True),
        ("make it more playful", "tone", "playful"),
        ("좀 더 재밌게", "tone", "playful"),
        ("in English", "language", "en"),
        ("영어로 바꿔줘", "language", "en"),
        ("another picture", "new_picture", True),
        ("다른 사진으로", "new_picture", True),
        ("make it 9:16", "aspect_ratio", "9:16"),
        ("centred card", "layout", "card"),
    ],
)
def test_refinements_only_steer(text, field, value):
    turn = parse(text)
    assert getattr(turn, field) == value
    assert turn.refines_only, turn


def test_refinement_with_a_new_promotion_is_a_new_brief():
    turn = parse("in English: Black Friday sale on all winter coats")
    assert turn.language == "en" and not turn.refines_only
