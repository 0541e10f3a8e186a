"""The app subcommands of the `rnnapps` CLI, one module each, in `--help` order."""

from rnnapps.commands import classify, diagnose, lm, poetry, translate

COMMANDS = [classify, lm, poetry, translate, diagnose]
