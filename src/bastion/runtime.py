"""The `Bastion` object: settings, database and indexes, shared by the API, the CLI and workers.

Built explicitly from a `Settings`; nothing here runs at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.classify.model import TextModel, model_at
from bastion.db.engine import make_engine, make_sessionmaker
from bastion.db.migrate import upgrade
from bastion.matching.pdq_sync import PdqIndexSync
from bastion.matching.service import Matcher
from bastion.matching.text_sync import TextIndexSync
from bastion.media_store import MediaStore
from bastion.settings import Settings


class Bastion:
    """One running instance: the database, the media folder and the in-memory PDQ index."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._started = False

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use)."""
        self.settings.ensure_data_dir()
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Session factory bound to the engine."""
        return make_sessionmaker(self.engine)

    @cached_property
    def media(self) -> MediaStore:
        """Content-addressed storage of submitted media in the data folder."""
        return MediaStore(self.settings.data_dir / "media")

    @cached_property
    def classifier(self) -> TextModel | None:
        """The text model items are scored with (BASTION_TEXT_MODEL or the shipped one), or
        None when the classifier is off. A bad model file is refused here, at start."""
        if not self.settings.text_classifier:
            return None
        return model_at(self.settings.text_model, self.settings.text_review_recall)

    @cached_property
    def pdq(self) -> PdqIndexSync:
        """The PDQ index of every bank, loaded from the database on first use."""
        sync = PdqIndexSync(self.settings.pdq_quality_floor)
        with self.session() as session:
            sync.sync(session)
        return sync

    @cached_property
    def text(self) -> TextIndexSync:
        """The near-duplicate text index of every bank, loaded on first use."""
        sync = TextIndexSync()
        with self.session() as session:
            sync.sync(session)
        return sync

    @cached_property
    def matcher(self) -> Matcher:
        """Matches signals against the banks."""
        return Matcher(
            self.pdq,
            self.settings.pdq_quality_floor,
            dihedral=self.settings.pdq_dihedral,
            text=self.text,
        )

    def forget_pdq(self, signal_ids: list[int]) -> None:
        """Drop deleted rows from the in-memory indexes that are loaded."""
        if "pdq" in self.__dict__:
            self.pdq.remove(signal_ids)
        if "text" in self.__dict__:
            self.text.remove(signal_ids)

    def start(self, *, load_indexes: bool = False) -> Bastion:
        """Create the data folder, apply migrations and optionally load the indexes."""
        with self._lock:
            if not self._started:
                upgrade(self.engine)
                self._started = True
        if load_indexes:
            _ = self.pdq, self.text
        return self

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
