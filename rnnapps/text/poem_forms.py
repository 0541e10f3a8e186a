"""Classical poem forms and the rules of a poem request, for the app and its export alike.

`PoetryGenerator.generate` checks a request here before running the poem graph, and the
exported `generate` endpoint maps form names with `REQUEST_FORMS` and keeps moods within
`MAX_MOOD_CHARS`, so both answer the same requests by the same rules.

Example:
    >>> canonical_form("七绝"), FORMS["qijue"]
    ('qijue', (4, 7))
    >>> poem_requests("wujue", "春夏", None, "秋", known=set("春夏秋"))
    [{'acrostic': '春夏', 'first_line': '', 'mood': '秋'}]
"""

from rnnapps.errors import ConfigError
from rnnapps.text.chinese import is_hanzi
from rnnapps.text.plain import utf8_text

# name -> (lines, characters per line); "free" is any text.
FORMS = {"wujue": (4, 5), "qijue": (4, 7), "wulv": (8, 5), "qilv": (8, 7)}
FORM_ALIASES = {"五绝": "wujue", "七绝": "qijue", "五律": "wulv", "七律": "qilv", "free": "free", "自由": "free"}
# Every form name a request may use -> (lines, chars); the free form is (0, 0).
REQUEST_FORMS = {**FORMS, **{alias: FORMS.get(name, (0, 0)) for alias, name in FORM_ALIASES.items()}}
COMMA, PERIOD = "，", "。"
# Marks that may end a line in corpus poems; generated poems use only "，" and "。".
LINE_ENDS = "，。？！；、,.?!;"
MAX_FREE_TOKENS = 200  # a free-form poem ends at its end marker or here; also the longest free first line
# A mood primes like a title (training titles keep 8 characters). The app refuses a longer
# mood; the export keeps its last MAX_MOOD_CHARS characters (a served request has no
# exceptions to raise), so both read exactly the same characters of any mood the app accepts.
MAX_MOOD_CHARS = 64


def canonical_form(form):
    """The canonical name of a form ("qijue", "七绝" -> "qijue"; None -> "free").

    Args:
        form: a form name, a Chinese alias (五绝 七绝 五律 七律 自由) or None.

    Raises:
        ConfigError: an unknown form name.

    Example:
        >>> canonical_form("七律")
        'qilv'
    """
    if form is None:
        return "free"
    if isinstance(form, str) and form in FORMS:
        return form
    if isinstance(form, str) and form in FORM_ALIASES:
        return FORM_ALIASES[form]
    names = ", ".join(list(FORMS) + ["free"])
    raise ConfigError(f"unknown poem form {form!r}: use one of {names} (or 五绝, 七绝, 五律, 七律)")


def request_rows(fields):
    """Per-poem dicts of request fields (str or list; lists of length 1 broadcast).

    Text is repaired as the vectorizer would: lone surrogates become "?", bad bytes U+FFFD.

    Example:
        >>> request_rows({"acrostic": ["春", "夏"], "mood": "秋"})
        [{'acrostic': '春', 'mood': '秋'}, {'acrostic': '夏', 'mood': '秋'}]
    """
    lengths = {name: len(value) for name, value in fields.items() if isinstance(value, (list, tuple))}
    size = max(lengths.values(), default=1)
    if any(n not in (1, size) for n in lengths.values()) or size == 0:
        raise ConfigError(f"list arguments must have equal lengths (>= 1), got {lengths}")
    rows = [{} for _ in range(size)]
    for name, value in fields.items():
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        values = values * size if len(values) == 1 else values
        for row, item in zip(rows, values):
            if item is not None and not isinstance(item, (str, bytes)):
                raise ConfigError(f"{name} must be a string, got {type(item).__name__}")
            row[name] = utf8_text(item) if item else ""
    return rows


def poem_requests(form, acrostic, first_line, mood, known):
    """Checked request rows `{"acrostic", "first_line", "mood"}`, one per poem.

    Args:
        form: a canonical form name (see `canonical_form`).
        acrostic, first_line, mood: str, None, or lists of them (equal lengths or length 1).
        known: the characters the model knows (its vocabulary without markers).

    Raises:
        ConfigError: an acrostic longer than the poem or in the free form, a first line of
            the wrong length, characters the model does not know, an acrostic and a first
            line that disagree, a mood longer than `MAX_MOOD_CHARS`.
    """
    lines, chars = FORMS.get(form, (0, 0))
    rows = request_rows({"acrostic": acrostic, "first_line": first_line, "mood": mood})
    for row in rows:
        row["acrostic"] = _checked_acrostic(row["acrostic"], form, lines, known)
        row["first_line"] = _checked_first_line(row["first_line"], form, chars, known)
        if row["acrostic"] and row["first_line"] and row["acrostic"][0] != row["first_line"][0]:
            raise ConfigError(f"the acrostic starts with {row['acrostic'][0]!r} but the first line with {row['first_line'][0]!r}")
        if len(row["mood"]) > MAX_MOOD_CHARS:
            raise ConfigError(f"mood must be at most {MAX_MOOD_CHARS} characters, got {len(row['mood'])}")
    return rows


def _checked_acrostic(acrostic, form, lines, known):
    acrostic = "".join(acrostic.split())
    if not acrostic:
        return ""
    if form == "free":
        raise ConfigError("an acrostic needs a fixed form (wujue, qijue, wulv or qilv): the free form has no set lines")
    if len(acrostic) > lines:
        raise ConfigError(f"the acrostic {acrostic!r} has {len(acrostic)} characters but a {form} has only {lines} lines")
    _require_known(acrostic, known, "acrostic")
    return acrostic


def _checked_first_line(first_line, form, chars, known):
    first_line = "".join(first_line.split())
    if form != "free":
        first_line = first_line.rstrip(LINE_ENDS)
        if not first_line:
            return ""
        if len(first_line) != chars or not all(is_hanzi(c) for c in first_line):
            raise ConfigError(f"the first line of a {form} must be {chars} Han characters, got {first_line!r}")
    if len(first_line) > MAX_FREE_TOKENS:
        raise ConfigError(f"the first line must be at most {MAX_FREE_TOKENS} characters, got {len(first_line)}")
    _require_known(first_line, known, "first line")
    return first_line


def _require_known(text, known, what):
    unknown = sorted({c for c in text if c not in known})
    if unknown:
        raise ConfigError(f"the {what} has characters the model does not know: {''.join(unknown)!r}")
