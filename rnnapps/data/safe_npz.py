"""Reading `.npz` archives whose object arrays hold plain data, without running code.

`numpy.load(allow_pickle=True)` unpickles object arrays with the standard unpickler, which
calls any function a file names: a crafted `tang.npz` could run code. Here object arrays
are read by an unpickler that only rebuilds numpy arrays and dtypes; dicts, lists, tuples,
strings, numbers and bytes need no lookups at all. Anything else (a function, a class,
`os.system`, `builtins.exec` ...) is refused with a `DataError` before it is called.
"""

import io
import pickle
import zipfile

import numpy as np

from rnnapps.errors import DataError

# (module, name) pairs a numpy object array's pickle needs; nothing else is looked up.
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles spell bytes
}


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise DataError(
            f"refusing to unpickle {module}.{name}: the file holds code or objects, not plain data "
            "(only numpy arrays, dicts, lists, strings and numbers are read); use a file you trust and can rebuild"
        )

    def persistent_load(self, pid):
        raise DataError("refusing to unpickle a persistent reference: the file does not hold plain data")


def _read_member(archive, member):
    with archive.open(member) as handle:
        raw = io.BytesIO(handle.read())
    version = np.lib.format.read_magic(raw)
    if version == (1, 0):
        _, _, dtype = np.lib.format.read_array_header_1_0(raw)
    else:
        _, _, dtype = np.lib.format.read_array_header_2_0(raw)
    if not dtype.hasobject:
        raw.seek(0)
        return np.lib.format.read_array(raw, allow_pickle=False)
    value = _PlainDataUnpickler(raw, encoding="latin1").load()
    if not isinstance(value, np.ndarray):
        raise DataError(f"{member} does not hold a numpy array")
    return value


def load_npz(path):
    """Reads every array of an `.npz` archive; object arrays only if they hold plain data.

    Returns:
        dict of array name -> `np.ndarray`.

    Raises:
        DataError: not a zip/npy archive, or an object array that names code.

    Example:
        >>> arrays = load_npz("tang.npz")  # doctest: +SKIP
        >>> sorted(arrays)                 # doctest: +SKIP
        ['data', 'ix2word', 'word2ix']
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                member[: -len(".npy")]: _read_member(archive, member)
                for member in archive.namelist()
                if member.endswith(".npy")
            }
    except DataError:
        raise
    except Exception as error:  # zip, npy-header and unpickling failures all mean: a damaged file
        raise DataError(f"could not read {path} as an .npz archive: {type(error).__name__}: {error}") from None
