"""Chinese characters: which tokens are Han characters, and their rhyme groups.

Rhyme groups come from pinyin finals given by `pypinyin` (a dependency of rnnapps). A group
is the final without its medial (`uang`, `iang` and `ang` rhyme), with
the finals of `zhi chi shi ri zi ci si` (`-i`), `i` and `er` together and `eng/ing/
ong/iong` together: close to the thirteen rhyme classes (十三辙) of later verse, and
tolerant of how Tang rhymes sound today. A character takes the reading pypinyin
gives it alone (its most common one); tones are ignored.

Example:
    >>> rhyme_group("光") == rhyme_group("乡"), rhyme_group("光") == rhyme_group("流")  # doctest: +SKIP
    (True, False)
"""

import re

from rnnapps.errors import ConfigError

# pypinyin is installed with rnnapps; this names the repair when an environment lost it.
INSTALL_HINT = "pip install pypinyin  (it is a dependency of rnnapps: reinstalling rnnapps brings it too)"
# final (pypinyin Style.FINALS, strict) -> rhyme group
_GROUP_OF_FINAL = {
    "a": "a", "ia": "a", "ua": "a",
    "o": "o", "uo": "o", "e": "o",
    "ie": "ie", "ve": "ie", "ue": "ie",
    "i": "i", "-i": "i", "er": "i",
    "v": "v", "u": "u",
    "ai": "ai", "uai": "ai",
    "ei": "ei", "uei": "ei", "ui": "ei",
    "ao": "ao", "iao": "ao",
    "ou": "ou", "iou": "ou", "iu": "ou",
    "an": "an", "ian": "an", "uan": "an", "van": "an",
    "en": "en", "in": "en", "uen": "en", "un": "en", "vn": "en",
    "ang": "ang", "iang": "ang", "uang": "ang",
    "eng": "eng", "ing": "eng", "ueng": "eng", "ong": "eng", "iong": "eng",
}
GROUPS = tuple(sorted(set(_GROUP_OF_FINAL.values())))
_HAN_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]$")


def is_hanzi(char):
    """Whether `char` is one Han character (CJK unified or compatibility ideograph).

    Args:
        char: a token string.

    Example:
        >>> is_hanzi("春"), is_hanzi("，"), is_hanzi("a")
        (True, False, False)
    """
    return bool(_HAN_RE.match(char))


def _pypinyin():
    try:
        import pypinyin
    except ImportError:
        raise ConfigError(f"rhyming needs the pypinyin package, which is not installed: {INSTALL_HINT}") from None
    return pypinyin


def rhyme_group(char):
    """The rhyme group name of one Han character, or None (not Han, unknown reading).

    Args:
        char: one character.

    Raises:
        ConfigError: pypinyin is not installed.

    Example:
        >>> rhyme_group("霜")  # doctest: +SKIP
        'ang'
    """
    pypinyin = _pypinyin()
    final = pypinyin.lazy_pinyin(char, style=pypinyin.Style.FINALS, strict=True, errors="ignore")
    if len(final) != 1:
        return None
    return _GROUP_OF_FINAL.get(final[0])


def rhyme_group_ids(tokens):
    """Rhyme group id (index in `GROUPS`) of every token, -1 where there is none.

    Args:
        tokens: the token strings by id (index i is id i; padding and `<unk>` included).

    Returns:
        a list of ints, one per token.

    Example:
        >>> ids = rhyme_group_ids(["", "[UNK]", "光", "乡", "，"])  # doctest: +SKIP
        >>> ids[2] == ids[3] >= 0 and ids[4] == -1                  # doctest: +SKIP
        True
    """
    index = {name: i for i, name in enumerate(GROUPS)}
    groups = []
    for token in tokens:
        group = rhyme_group(token) if is_hanzi(token) else None
        groups.append(index[group] if group is not None else -1)
    return groups
