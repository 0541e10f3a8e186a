"""Which directories are model bases, and TF Serving's `model_config_list` for them.

A model base is a directory whose integer subdirectories are SavedModel versions
(`saved_models/sentiment/1/`). `find_model_bases` accepts model bases, `NAME=PATH` pairs
(another name than the folder's) and folders of model bases (`saved_models/`); files are
skipped, so a shell glob such as `saved_models/*` (which also matches its README.md) works.

Example:
    >>> print(model_config_list({"sentiment": "/srv/saved_models/sentiment"}))
    model_config_list {
      config {
        name: "sentiment"
        base_path: "/srv/saved_models/sentiment"
        model_platform: "tensorflow"
      }
    }
    <BLANKLINE>
"""

import json
import os
import posixpath

from rnnapps.errors import ConfigError


def _has_versions(path):
    return any(entry.isdigit() and os.path.isdir(os.path.join(path, entry)) for entry in os.listdir(path))


def find_model_bases(paths, skipped=None):
    """`{model name: absolute base path}` for command-line arguments (see the module docstring).

    Args:
        paths: model bases, `NAME=PATH`, or folders holding model bases.
        skipped: a list that receives `(path, reason)` for arguments that are not used.

    Raises:
        ConfigError: a path does not exist, two models share a name, or nothing is left.
    """
    bases = {}

    def add(name, path):
        if name in bases and bases[name] != path:
            raise ConfigError(f"two model bases are named {name!r}: {bases[name]} and {path}; rename one with NAME=PATH")
        bases[name] = path

    for argument in paths:
        name, path = (argument.split("=", 1) if "=" in argument and not os.path.exists(argument) else (None, argument))
        path = os.path.abspath(path)
        if not os.path.exists(path):
            raise ConfigError(f"{path} does not exist: give export directories such as saved_models/sentiment")
        if not os.path.isdir(path):
            if skipped is not None:
                skipped.append((path, "not a directory"))
            continue
        if name:
            add(name, path)
            continue
        children = [os.path.join(path, entry) for entry in sorted(os.listdir(path)) if not entry.startswith(".")]
        nested = [child for child in children if os.path.isdir(child) and not os.path.basename(child).isdigit() and _has_versions(child)]
        if nested and not _has_versions(path):
            for child in nested:  # a folder of model bases, e.g. saved_models/
                add(os.path.basename(child), child)
        else:  # a model base (or an empty one that versions will appear in, as TF Serving allows)
            add(os.path.basename(path), path)
    if not bases:
        raise ConfigError(f"no model bases among {list(paths)}: give export directories such as saved_models/sentiment")
    return bases


def model_config_list(bases, num_versions=1, path_prefix=None):
    """TF Serving's `model_config_list` (text format) serving `bases` ({name: path}).

    Args:
        num_versions: serve the highest N versions of each model (TF Serving's default is 1).
        path_prefix: write `<path_prefix>/<name>` as base paths instead of the local paths,
            e.g. "/models" for a Docker container that mounts `saved_models/` there.
    """
    lines = ["model_config_list {"]
    for name, path in sorted(bases.items()):
        base_path = posixpath.join(path_prefix, name) if path_prefix else path
        lines += ["  config {", f"    name: {json.dumps(name)}", f"    base_path: {json.dumps(base_path)}", '    model_platform: "tensorflow"']
        if num_versions != 1:
            lines += ["    model_version_policy {", f"      latest {{ num_versions: {int(num_versions)} }}", "    }"]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
