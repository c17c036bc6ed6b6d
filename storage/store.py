"""One object that holds the database and every repository: what the composition root builds."""

from __future__ import annotations

from pathlib import Path

from storage.alerts import AlertRepo
from storage.db import Database
from storage.people import PeopleRepo
from storage.posts import PostRepo
from storage.rules import RuleRepo
from storage.search import SearchRepo
from storage.sources import SourceRepo
from storage.state import StateRepo


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sources = SourceRepo(db)
        self.posts = PostRepo(db)
        self.rules = RuleRepo(db)
        self.people = PeopleRepo(db)
        self.alerts = AlertRepo(db)
        self.search = SearchRepo(db)
        self.state = StateRepo(db)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()
