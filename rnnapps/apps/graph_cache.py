"""A small thread-safe, bounded cache for the apps' lazily built graphs.

Apps are used from web servers, where several threads call `predict`/`generate`/
`translate` at once. Each lazily built `tf.function` (or table) is looked up and built
under one lock, so no thread ever sees a half-built entry or stores an entry built from
stale parts; at most `max_entries` are kept (least recently used dropped first), so
requests with ever new option combinations cannot grow memory without bound.

Example:
    >>> cache = GraphCache(max_entries=2)
    >>> cache.get("a", lambda: 1), cache.get("b", lambda: 2), cache.get("c", lambda: 3)
    (1, 2, 3)
    >>> len(cache)
    2
"""

import collections
import threading


class GraphCache:
    """Key -> lazily built value, thread-safe, least recently used dropped beyond `max_entries`."""

    def __init__(self, max_entries=8):
        self.max_entries = int(max_entries)
        self._entries = collections.OrderedDict()
        self._lock = threading.RLock()

    def get(self, key, build):
        """The value for `key`, calling `build()` (under the lock) when it is missing."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            value = build()
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return value

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def __getstate__(self):  # a lock cannot be copied; a copy starts empty
        return {"max_entries": self.max_entries}

    def __setstate__(self, state):
        self.__init__(state["max_entries"])
