"""utf8_text: every Python string becomes text that UTF-8 can encode (rnnapps/text/plain.py)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnapps.text.plain import utf8_text


def test_lone_surrogates_and_bad_bytes_are_replaced():
    assert utf8_text("a\ud800b\udfff") == "a?b?"
    assert utf8_text(b"caf\xe9") == "caf\ufffd"
    assert utf8_text("春眠 👍🏽") == "春眠 👍🏽"


@settings(max_examples=50, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_any_string_or_bytes_encodes(value):
    utf8_text(value).encode("utf-8")
