"""CLI subcommands: each module here defines `add_parser(subparsers)` and is found automatically."""
