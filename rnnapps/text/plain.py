"""Python strings and bytes -> text that always encodes to UTF-8.

A Python `str` may hold lone surrogates (`"\\ud800"`, e.g. from `os.fsdecode` or JSON
with escaped halves), which UTF-8 cannot encode: TensorFlow then raises
`UnicodeEncodeError` deep inside a call. Every app entry point passes user strings
through `utf8_text` first, the way the classifier's sources always did: a lone
surrogate becomes "?" and invalid UTF-8 bytes become U+FFFD.

Example:
    >>> utf8_text("ok \\ud800")
    'ok ?'
    >>> utf8_text(b"caf\\xe9")
    'caf\\ufffd'
"""

import numpy as np


def utf8_text(value):
    """`value` (str, bytes or numpy string) as a str that encodes to UTF-8; other types: `str(value)`."""
    if isinstance(value, (bytes, bytearray, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value).encode("utf-8", errors="replace").decode("utf-8")
