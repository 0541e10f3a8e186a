"""Apps used from many threads at once (web servers): the lazily built graphs and tables
are built once under a lock, results equal serial calls, and the caches stay bounded."""

import threading

import rnnapps
from rnnapps.apps.graph_cache import GraphCache

THREADS = 8


def run_threads(calls):
    """Runs every `(name, fn)` of `calls` in its own thread, all released at once."""
    barrier = threading.Barrier(len(calls))
    results, errors = {}, []

    def worker(name, fn):
        barrier.wait()
        try:
            results[name] = fn()
        except BaseException as error:  # reported below with the call's name
            errors.append((name, error))

    threads = [threading.Thread(target=worker, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return results


def test_graph_cache_is_bounded_and_builds_once_per_key():
    builds = []
    cache = GraphCache(max_entries=2)

    def build(key):
        builds.append(key)
        return key * 2

    results = run_threads([(i, lambda: cache.get("k", lambda: build(3))) for i in range(THREADS)])
    assert set(results.values()) == {6} and builds == [3]
    for key in range(10):
        cache.get(key, lambda: build(key))
    assert len(cache) == 2


def test_eight_threads_predict_generate_translate_and_write_poems_like_serial_calls(trained_classifier):
    generator = rnnapps.TextGenerator.from_vocabulary(list("abc \n"), units=8, depth=1, embedding_dim=8)
    poet = rnnapps.PoetryGenerator.from_vocabulary("春夏秋冬山水花月天風雲東中空", units=8, depth=1, embedding_dim=8)
    translator = rnnapps.Translator.from_vocabularies(["one", "two"], ["uno", "dos"], units=8)
    calls = {
        "predict": lambda: trained_classifier.predict(["great film", "dull plot", ""]).labels,
        "generate": lambda: generator.generate(["a", "bc"], max_length=6, seed=4),
        "beam": lambda: generator.generate("ab", max_length=4, beam_width=3),
        "translate": lambda: translator.translate(["one two", "two"], max_length=4),
        "translate-beam": lambda: translator.translate("one", max_length=4, beam_width=2, num_results=2),
        "poem": lambda: poet.generate(form="wujue", seed=2),
        "poem-rhyme": lambda: poet.generate(form="wujue", rhyme=True, seed=2),
        "poem-mood": lambda: poet.generate(form="wujue", mood="秋", seed=5, temperature=0.0),
    }
    assert len(calls) == THREADS
    concurrent = run_threads(list(calls.items()))
    serial = {name: fn() for name, fn in calls.items()}
    assert concurrent == serial
    assert poet.generate(form="wujue", rhyme=True, seed=2) == serial["poem-rhyme"]  # rhyme still works


def test_the_translators_graph_cache_does_not_grow_with_every_option_combination():
    translator = rnnapps.Translator.from_vocabularies(["one", "two"], ["uno", "dos"], units=8)
    assert translator._graphs.max_entries == 8
    translator._graphs.max_entries = 2  # three combinations are enough to see the bound
    for beam_width in (1, 2, 3):
        translator.translate("one", max_length=2, beam_width=beam_width)
    assert len(translator._graphs) == 2
