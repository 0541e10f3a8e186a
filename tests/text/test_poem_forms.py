"""Poem forms and request rules: one module for the app and its export."""

import pytest

from rnnapps.data import poems
from rnnapps.errors import ConfigError
from rnnapps.export import poetry as export_poetry
from rnnapps.text.poem_forms import (
    FORMS,
    MAX_MOOD_CHARS,
    REQUEST_FORMS,
    canonical_form,
    poem_requests,
    request_rows,
)

KNOWN = set("春夏秋冬床前明月光")


def test_data_and_export_use_the_same_forms_and_limits():
    assert poems.FORMS is FORMS and poems.canonical_form is canonical_form
    assert export_poetry.MAX_MOOD_CHARS == MAX_MOOD_CHARS == 64
    assert REQUEST_FORMS["七律"] == FORMS["qilv"] and REQUEST_FORMS["free"] == REQUEST_FORMS["自由"] == (0, 0)
    assert set(REQUEST_FORMS) == set(FORMS) | {"五绝", "七绝", "五律", "七律", "free", "自由"}


def test_requests_are_checked_and_broadcast():
    rows = poem_requests("wujue", ["床夏", "床"], "床前明月光，", None, KNOWN)
    assert rows == [
        {"acrostic": "床夏", "first_line": "床前明月光", "mood": ""},
        {"acrostic": "床", "first_line": "床前明月光", "mood": ""},
    ]
    with pytest.raises(ConfigError, match="acrostic starts with"):
        poem_requests("wujue", "春", "床前明月光", None, KNOWN)
    assert poem_requests("free", None, " 春 夏 ", "秋" * MAX_MOOD_CHARS, KNOWN)[0]["first_line"] == "春夏"
    with pytest.raises(ConfigError, match=f"at most {MAX_MOOD_CHARS}"):
        poem_requests("free", None, None, "秋" * (MAX_MOOD_CHARS + 1), KNOWN)


@pytest.mark.parametrize("form, fields, message", [
    ("wujue", {"acrostic": "春夏秋冬春"}, "has only 4 lines"),
    ("free", {"acrostic": "春"}, "needs a fixed form"),
    ("qijue", {"first_line": "床前明月光"}, "must be 7 Han characters"),
    ("wujue", {"first_line": "床前明月雪"}, "does not know"),
])
def test_bad_requests(form, fields, message):
    with pytest.raises(ConfigError, match=message):
        poem_requests(form, fields.get("acrostic"), fields.get("first_line"), None, KNOWN)


def test_request_rows_need_equal_lengths():
    with pytest.raises(ConfigError, match="equal lengths"):
        request_rows({"acrostic": ["a", "b"], "mood": ["a", "b", "c"]})
    with pytest.raises(ConfigError, match="unknown poem form"):
        canonical_form("sonnet")
