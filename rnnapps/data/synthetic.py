"""Generated parallel texts for demos, tests and benchmarks (pure Python, no TensorFlow).

Each task needs real reordering, which is what attention is for:

- `spelled_dates`: "the third of march twenty twenty one" -> "2021-03-03" (day, month,
  year come in three orders; the target is always year-month-day).
- `spelled_times`: "twenty five to nine in the evening" -> "20:35" ("to" also moves the hour).
- `reversed_numbers`: "three one four" -> "4 1 3" (digit words, reversed and written as digits).

Every generator is deterministic for a given `seed` and returns a list of
`(source, target)` string pairs.

Example:
    >>> spelled_dates(1, seed=3)[0][1].count("-")
    2
"""

import datetime
import random

from rnnapps.errors import ConfigError

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_ONES = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
ORDINAL_TEENS = [
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth",
]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]


def number_words(n):
    """0..99 in words: 21 -> "twenty one"."""
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])


def ordinal_words(n):
    """1..31 as an ordinal: 23 -> "twenty third", 30 -> "thirtieth"."""
    if n < 10:
        return ORDINAL_ONES[n]
    if n < 20:
        return ORDINAL_TEENS[n - 10]
    if n % 10 == 0:
        return TENS[n // 10][:-1] + "ieth"
    return f"{TENS[n // 10]} {ORDINAL_ONES[n % 10]}"


def year_words(year):
    """1900..2099 the way it is said: 1987 "nineteen eighty seven", 2005 "two thousand five",
    2021 "twenty twenty one", 1905 "nineteen oh five"."""
    century, rest = divmod(year, 100)
    if century == 20 and rest < 10:
        return "two thousand" + ("" if rest == 0 else " " + ONES[rest])
    if rest == 0:
        return f"{number_words(century)} hundred"
    if rest < 10:
        return f"{number_words(century)} oh {ONES[rest]}"
    return f"{number_words(century)} {number_words(rest)}"


def spelled_dates(count, seed=0, first_year=1950, last_year=2030):
    """`count` pairs (spelled-out date, ISO date), dates drawn uniformly in the year range.

    Example:
        >>> pairs = spelled_dates(2, seed=0)
        >>> all(len(target) == 10 for _, target in pairs)
        True
    """
    rng = random.Random(seed)
    start = datetime.date(int(first_year), 1, 1).toordinal()
    end = datetime.date(int(last_year), 12, 31).toordinal()
    pairs = []
    for _ in range(int(count)):
        date = datetime.date.fromordinal(rng.randint(start, end))
        day, month, year = ordinal_words(date.day), MONTHS[date.month - 1], year_words(date.year)
        form = rng.randrange(3)
        if form == 0:
            source = f"the {day} of {month} {year}"
        elif form == 1:
            source = f"{month} the {day} {year}"
        else:
            source = f"{day} {month} {year}"
        pairs.append((source, date.isoformat()))
    return pairs


def _hour_words(hour):
    """A 24-hour hour as said on a 12-hour clock: 0 and 12 -> "twelve"."""
    return number_words(hour % 12 or 12)


def _part_of_day(hour):
    if hour < 12:
        return "in the morning"
    if hour < 18:
        return "in the afternoon"
    return "in the evening" if hour < 22 else "at night"


def spelled_times(count, seed=0):
    """`count` pairs (spelled-out time of day, "HH:MM"), minutes in steps of five.

    Example:
        >>> spelled_times(1, seed=1)[0][1][2]
        ':'
    """
    rng = random.Random(seed)
    pairs = []
    for _ in range(int(count)):
        hour, minute = rng.randrange(24), rng.randrange(0, 60, 5)
        if minute == 0:
            said = f"{_hour_words(hour)} o'clock"
        elif minute <= 30:
            amount = {15: "quarter", 30: "half"}.get(minute, number_words(minute))
            said = f"{amount} past {_hour_words(hour)}"
        else:
            amount = "quarter" if minute == 45 else number_words(60 - minute)
            said = f"{amount} to {_hour_words((hour + 1) % 24)}"
        # The part of the day belongs to the hour named, which for "to" is the next one.
        named_hour = (hour + 1) % 24 if minute > 30 else hour
        pairs.append((f"{said} {_part_of_day(named_hour)}", f"{hour:02d}:{minute:02d}"))
    return pairs


def reversed_numbers(count, seed=0, min_length=3, max_length=6):
    """`count` pairs ("three one four", "4 1 3"): digit words, reversed, as digits.

    Example:
        >>> reversed_numbers(1, seed=0, min_length=3, max_length=3)[0][1].count(" ")
        2
    """
    if not 1 <= int(min_length) <= int(max_length):
        raise ConfigError(f"need 1 <= min_length <= max_length, got {min_length}, {max_length}")
    rng = random.Random(seed)
    pairs = []
    for _ in range(int(count)):
        digits = [rng.randrange(10) for _ in range(rng.randint(int(min_length), int(max_length)))]
        pairs.append((" ".join(ONES[d] for d in digits), " ".join(str(d) for d in reversed(digits))))
    return pairs


def disjoint_split(pairs, test_count, seed=0):
    """Splits pairs into (train, test) with no source of the test part among the training sources."""
    rng = random.Random(seed)
    by_source = {}
    for source, target in pairs:
        by_source.setdefault(source, target)
    sources = sorted(by_source)
    rng.shuffle(sources)
    test_sources = set(sources[: int(test_count)])
    train = [pair for pair in pairs if pair[0] not in test_sources]
    test = [(source, by_source[source]) for source in sources[: int(test_count)]]
    return train, test
