"""The harness's command line, `benchmatrix` (or `python -m benchmatrix`): one module per group of subcommands.

Each module adds its subcommands' parsers (add_parsers) and maps each name to the function
that runs it (COMMANDS); main.py assembles them. Parsers import nothing heavy, so `--help`
is quick and works outside a checkout.
"""
