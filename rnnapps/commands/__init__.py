"""The app subcommands of the `rnnapps` CLI, one module each, in `--help` order."""

from rnnapps.commands import classify, diagnose, lm, translate

COMMANDS = [classify, lm, translate, diagnose]
