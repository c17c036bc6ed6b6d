"""`python -m bot.i18n check|update`: see bot.i18n.catalogs."""

from __future__ import annotations

import sys

from bot.i18n.catalogs import check, update


def main(argv: list[str]) -> int:
    if argv == ["update"]:
        update()
        return 0
    if argv == ["check"]:
        found = check()
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print(f"{len(found)} catalogue problem(s)", file=sys.stderr)
            return 1
        print("catalogues complete in every language")
        return 0
    print("usage: python -m bot.i18n check|update", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
