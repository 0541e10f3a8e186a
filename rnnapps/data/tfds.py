"""TensorFlow Datasets, for every data source: names, prepared builders, clear offline errors.

A TFDS dataset is read only when it is prepared in `tfds_data_dir` or can be
downloaded now; otherwise `DataUnavailableError` names the remedies: connect, point
`tfds_data_dir` (CLI: `--tfds-data-dir`) at prepared data, or pass a local file instead.
Every source names its TFDS folder option `tfds_data_dir`; `renamed_data_dir` keeps
the older `data_dir=` working with a `DeprecationWarning`.

Example:
    >>> looks_like_name("imdb_reviews/plain_text:1.0.0")
    True
    >>> looks_like_name("reviews.csv", suffixes=(".csv",))
    False
"""

import re
import socket
import warnings

from rnnapps.errors import DataError, DataUnavailableError

NAME_PATTERN = re.compile(r"^[a-z0-9_]+(/[A-Za-z0-9_.\-]+)?(:[0-9.*]+)?$")
DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def looks_like_name(text, suffixes=()):
    """Whether `text` has the shape of a TFDS name (`name[/config][:version]`) and no file suffix."""
    return bool(NAME_PATTERN.match(text)) and not text.lower().endswith(tuple(suffixes))


def is_registered(name):
    """Whether TFDS knows the dataset part of `name` (imports tensorflow_datasets)."""
    import tensorflow_datasets

    try:
        tensorflow_datasets.builder_cls(name.split("/")[0].split(":")[0])
        return True
    except Exception:  # TFDS raises several kinds for an unknown name
        return False


def renamed_data_dir(tfds_data_dir, data_dir, where):
    """`tfds_data_dir`, or the deprecated `data_dir=` of `where` (with a `DeprecationWarning`)."""
    if data_dir is None:
        return tfds_data_dir
    warnings.warn(f"{where}: data_dir= is deprecated, use tfds_data_dir=", DeprecationWarning, stacklevel=3)
    if tfds_data_dir is not None and tfds_data_dir != data_dir:
        raise DataError(f"{where}: give tfds_data_dir= only (data_dir= is its deprecated name)")
    return data_dir


def internet_reachable(host=DOWNLOAD_HOST[0], port=DOWNLOAD_HOST[1], timeout=3.0):
    """Whether a TCP connection to the TFDS download host succeeds within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unavailable(name, reason, local_copy):
    """The `DataUnavailableError` of a dataset that cannot be read here, with its remedies."""
    return DataUnavailableError(
        f"TFDS dataset {name!r} is not available here ({reason}). Remedies: connect to the internet "
        f"so TFDS can download it; or pass tfds_data_dir= (CLI: --tfds-data-dir) pointing at a directory "
        f"where it is already prepared; or train from a local copy instead: {local_copy}."
    )


def prepared_builder(name, tfds_data_dir=None, download=True, local_copy="a local file"):
    """The prepared TFDS builder of `name`, downloading it when allowed and possible.

    Args:
        name: TFDS name, optionally with config and version.
        tfds_data_dir: where TFDS keeps prepared data (None: its default).
        download: allow downloading when the data is not prepared yet.
        local_copy: the offline alternative the error message names.

    Raises:
        DataError: an unknown name.
        DataUnavailableError: offline, not prepared, or the download failed.
    """
    import tensorflow_datasets

    try:
        builder = tensorflow_datasets.builder(name, data_dir=tfds_data_dir)
    except tensorflow_datasets.core.registered.DatasetNotFoundError:
        raise DataError(f"unknown TFDS dataset {name!r} (and no such local file or folder)") from None
    except Exception as error:  # TFDS wraps many failures; keep the message, drop its traceback.
        raise unavailable(name, f"{type(error).__name__}: {str(error).splitlines()[0]}", local_copy) from None
    if builder.is_prepared():
        return builder
    if not download:
        raise unavailable(name, "not prepared and download=False", local_copy)
    if not internet_reachable():
        raise unavailable(name, "no internet connection", local_copy)
    try:
        builder.download_and_prepare()
    except Exception as error:
        raise unavailable(name, f"download failed: {type(error).__name__}: {str(error).splitlines()[0]}", local_copy) from None
    return builder


def split_dataset(builder, name, split):
    """`builder.as_dataset(split=split)`, with a `DataError` that lists the splits when it has no such split."""
    try:
        return builder.as_dataset(split=split)
    except (ValueError, KeyError) as error:
        raise DataError(
            f"split {split!r} of {name!r} is not available ({str(error).splitlines()[0]}); "
            f"splits: {list(builder.info.splits)}"
        ) from None
