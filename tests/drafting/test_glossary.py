"""The desk glossary: names found in any case form, listed in the reader's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.desk.glossary_file import GlossaryWatch, load_glossary
from bot.drafting.draft import DraftOptions, build_draft
from bot.drafting.glossary import GlossaryError, dump_glossary, parse_glossary
from tests.drafting.test_drafts import FakePost, FakeSource

GLOSSARY = """
[[entry]]
kind = "person"
uk = "Хакан Фідан"
en = "Hakan Fidan"
ru = "Хакан Фидан"
note = { en = "Foreign Minister of Türkiye", uk = "міністр закордонних справ Туреччини" }

[[entry]]
kind = "person"
uk = "Ібрагім Калин"
en = "İbrahim Kalın"
aliases = ["Ібрагім Калін"]
note = { en = "head of Türkiye's National Intelligence Organization" }

[[entry]]
kind = "place"
uk = "Анкара"
en = "Ankara"
"""


def test_names_are_found_in_any_case_form_and_listed_in_the_readers_language() -> None:
    glossary = parse_glossary(GLOSSARY)
    text = "Зустрівся в Анкарі з Хаканом Фіданом, потім з Ібрагімом Каліном. Фідан підтримав."
    found = [f.entry.name_in("en") for f in glossary.find(text)]
    assert found == ["Ankara", "Hakan Fidan", "İbrahim Kalın"]
    draft = build_draft(
        FakePost(text),
        FakeSource(),
        DraftOptions(lang="en", tz="Europe/Kyiv", glossary=[f.entry for f in glossary.find(text)]),
    )
    assert draft.plain().splitlines()[-1] == (
        "Names: Ankara; Hakan Fidan, Foreign Minister of Türkiye; "
        "İbrahim Kalın, head of Türkiye's National Intelligence Organization"
    )
    # A Ukrainian desk reading a Ukrainian post needs no list of names.
    uk = build_draft(
        FakePost(text), FakeSource(), DraftOptions(lang="uk", tz="Europe/Kyiv", glossary=[])
    )
    assert "Імена" not in uk.plain()
    # Round trip through TOML.
    assert [e.names for e in parse_glossary(dump_glossary(glossary)).entries] == [
        e.names for e in glossary.entries
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[[entry]]\nkind = 'city'\nen = 'Kyiv'\n", "kind must be one of"),
        ("[[entry]]\nkind = 'place'\n", "needs a name"),
        ("[[entry]]\nen = 5\n", "'en' must be text"),
        ("[[entry]]\nen = 'X'\nnote = { de = 'Y' }\n", "unknown language"),
        ("entry = [", "not valid TOML"),
    ],
)
def test_a_bad_glossary_says_where(source: str, message: str) -> None:
    with pytest.raises(GlossaryError, match=message):
        parse_glossary(source)


def test_cli_adds_lists_and_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.toml"
    monkeypatch.setenv("WIREWATCH_DRAFTS__GLOSSARY", str(path))
    watch = GlossaryWatch(path)
    assert len(watch.current()) == 0
    argv = ["glossary", "add", "--uk", "Хакан Фідан", "--en", "Hakan Fidan"]
    assert (
        main([*argv, "--note-en", "Foreign Minister of Türkiye", "--db", str(tmp_path / "d")]) == 0
    )
    assert "added: Hakan Fidan, Foreign Minister of Türkiye" in capsys.readouterr().out
    assert main(["glossary", "list", "--json", "--db", str(tmp_path / "d")]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["en"] == "Hakan Fidan" and entry["uk"] == "Хакан Фідан"
    # The running service sees the change without a restart.
    assert [e.name_in("en") for e in watch.current().entries] == ["Hakan Fidan"]
    with pytest.raises(SystemExit):
        main(["glossary", "add", "--kind", "city", "--en", "Kyiv"])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["glossary", "add", "--kind", "place"]) == 2
    assert "needs a name" in capsys.readouterr().err
    assert main(["glossary", "remove", "хакан  фідан"]) == 0
    assert "removed: Hakan Fidan" in capsys.readouterr().out
    assert main(["glossary", "remove", "Nobody"]) == 2
    assert "no glossary entry named 'Nobody'" in capsys.readouterr().err
    assert len(load_glossary(path)) == 0
    main(["glossary", "add", "--kind", "place", "--uk", "Анкара", "--en", "Ankara"])
    assert [e.name_in("en") for e in watch.current().entries] == ["Ankara"]
    path.write_text("entry = [", encoding="utf-8")
    # A broken file keeps the last good glossary: alerts go on with the names they had.
    assert [e.name_in("en") for e in watch.current().entries] == ["Ankara"]
    assert main(["glossary", "list"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
