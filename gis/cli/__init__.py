"""RiverGrid command line: ``python -m gis COMMAND [--json]``.

Commands: ``init``, ``user add|passwd|disable|enable|set|unlock|list``, ``init-demo``, ``info``,
``inspect FILE [--kind KIND]``, ``import FILE --kind KIND [--allow-far]``,
``export --layer L --format F -o PATH``, ``check [--rivers F --grids F]``, ``undo ENTRY|--batch B``,
``who --lon X --lat Y [--tolerance-m 50]``, ``patrol FILE [--rivers F] [--corridor-m 50] [--from gcj02]``,
``patrol-report --period 2026-11``, ``assess --period 2026 [--grid ID] [--xlsx FILE]``,
``signboard --grid ID -o FILE``, ``volunteer add|list``,
``incident report --lon X --lat Y --category C --description D``, ``incident move ID --to STATE --as USER``,
``incident list [--overdue] [--due-soon] [--now ISO] [--as USER]``,
``calendar DATE|years|add FILE|refresh [--as USER]``, ``backup [-o FILE] [--rotate N]``,
``restore FILE [--force]``, ``audit verify``,
``notify run [--dry-run]|log [--problems]|prefs PERSON|messages|read ID`` (issue 18).

The command line trusts its operator (who can read the database file anyway) but still acts as
a named account: writes run as ``--as USER`` (default ``admin``) and are checked against that
account's role and written to the audit log like any other write. Flags, errors and logging:
:mod:`gis.cli.run`.

Modules: :mod:`~gis.cli.run` the parser, the dispatch and ``main``; :mod:`~gis.cli.common` what
every command shares; one module per capability for the commands themselves:
:mod:`~gis.cli.accounts` (init, user), :mod:`~gis.cli.geodata` (inspect, import, export),
:mod:`~gis.cli.checks` (check), :mod:`~gis.cli.grids` (who), :mod:`~gis.cli.incidents`
(incident), :mod:`~gis.cli.incident_report` (incident report: the only incident command that
loads the geometry stack), :mod:`~gis.cli.patrol` (patrol, patrol-report), :mod:`~gis.cli.assessment` (assess),
:mod:`~gis.cli.disclosure` (signboard, volunteer), :mod:`~gis.cli.ops` (init-demo, info, undo,
backup, restore, audit, calendar), :mod:`~gis.cli.notify` (notify).
"""

from gis.cli.run import build_parser, main

__all__ = ["build_parser", "main"]
