"""Write the generated tables of docs/settings.md from the declarations in ``workflows.io.settings_vars``.

Each table sits between ``<!-- BEGIN generated:NAME -->`` and ``<!-- END generated:NAME -->``; the prose
around them is hand-written and kept. ``--check`` changes nothing and exits 1 if the file is out of date
(``tests/test_docs.py`` runs the same comparison).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "settings.md"


def expected_tables() -> dict[str, str]:
    """What each generated region must hold, rendered from the code."""
    from workflows.io.settings import Settings  # noqa: PLC0415 - after sys.path is set up by main()
    from workflows.io.settings_vars import declared, tables  # noqa: PLC0415

    return tables(declared(Settings))


def _region(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- BEGIN generated:{name} [^>]*-->\n)(.*?)(<!-- END generated:{name} -->)", re.DOTALL
    )


def splice(text: str, tables: Mapping[str, str]) -> str:
    """``text`` with each generated region replaced by its table.

    Raises:
        ValueError: a region's markers are missing.
    """
    for name, table in tables.items():
        match = _region(name).search(text)
        if match is None:
            raise ValueError(f"docs/settings.md has no generated:{name} region")
        text = text[: match.start(2)] + table + text[match.end(2) :]
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/settings.md is out of date")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    current = DOC.read_text(encoding="utf-8")
    wanted = splice(current, expected_tables())
    if current == wanted:
        print("docs/settings.md is up to date")
        return 0
    if args.check:
        print(
            "docs/settings.md differs from the settings in the code: run scripts/settings_doc",
            file=sys.stderr,
        )
        return 1
    DOC.write_text(wanted, encoding="utf-8")
    print("docs/settings.md: tables rewritten from the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
