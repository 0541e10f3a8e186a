"""The app subcommands of the `rnnapps` CLI, one module each, in `--help` order."""

from rnnapps.commands import classify, diagnose, lm, poetry, serve, translate

COMMANDS = [classify, lm, poetry, translate, serve, diagnose]
