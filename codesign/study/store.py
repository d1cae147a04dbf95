"""The one door to a study: read and write trials through Optuna's public API.

Sweeps, ``codesign export`` and the dashboard all go through :class:`StudyStore`;
nothing in codesign or dashboards touches Optuna's tables or private modules,
so an Optuna schema migration costs no code here. How storages are opened
(SQLite writers in WAL mode with ``BEGIN IMMEDIATE``, read-only readers, the
journal file) is in :mod:`codesign.study.storages`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from accelerators import InputError

from .contract import STUDY_ATTR
from .storages import first_line as _first_line
from .storages import open_storage, shown_url, storage_file, study_names
from .storages import quiet_optuna as _quiet_optuna

__all__ = ["StudyStore", "open_storage", "shown_url", "storage_file", "study_names"]


class StudyStore:
    """One study in one storage. Every read and write of a study goes through here.

    Build it with :meth:`open` (an existing study) or :meth:`create` (new or
    existing). ``trial_id`` is the storage's id of a trial; ``number`` its
    0-based position in the study.
    """

    def __init__(self, url: str, storage, study_id: int, name: str):
        self.url, self.storage, self.study_id, self.name = url, storage, study_id, name
        self._reader = None  # an optuna.Study over the same storage, for cached reads

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, name: str | None = None, *, write: bool = False) -> StudyStore:
        """The study ``name`` (default: the only one, else an error listing them)."""
        storage = open_storage(url, write=write)
        names = _call(url, study_names, storage)
        if name is None:
            if len(names) == 1:
                name = names[0]
            elif not names:
                raise InputError.plain(f"storage {shown_url(url)!r} holds no study")
            else:
                raise InputError("--study", None, "one of " + ", ".join(sorted(names)))
        elif name not in names:
            allowed = "one of " + ", ".join(sorted(names)) if names else "an existing study"
            raise InputError("--study", name, allowed)
        return cls(url, storage, storage.get_study_id_from_name(name), name)

    @classmethod
    def create(
        cls, url: str, name: str, directions: list[str], user_attrs: dict
    ) -> tuple[StudyStore, bool]:
        """Open the study ``name``, creating it with ``directions`` and ``user_attrs`` if absent.

        Returns ``(store, created)``; of several processes creating one study at
        once, exactly one gets ``created=True``. The attributes are written after
        the study row: a reader may see a new study without them for a moment.
        """
        optuna = _quiet_optuna()
        from optuna.study import StudyDirection

        storage = open_storage(url, write=True)
        dirs = [StudyDirection[d.upper()] for d in directions]
        try:
            study_id = _call(url, storage.create_new_study, dirs, name)
        except optuna.exceptions.DuplicatedStudyError:
            return cls(url, storage, storage.get_study_id_from_name(name), name), False
        store = cls(url, storage, study_id, name)
        store.set_user_attrs(user_attrs)
        return store, True

    def optuna_study(self, sampler=None):
        """This study as an ``optuna.Study`` (for ``ask``, ``best_trials``, ``trials_dataframe``)."""
        optuna = _quiet_optuna()
        return optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)

    # -- study attributes ------------------------------------------------------------------
    @property
    def user_attrs(self) -> dict:
        return self.storage.get_study_user_attrs(self.study_id)

    @property
    def system_attrs(self) -> dict:
        return self.storage.get_study_system_attrs(self.study_id)

    @property
    def directions(self) -> list[str]:
        return [d.name.lower() for d in self.storage.get_study_directions(self.study_id)]

    @property
    def objectives(self) -> list[str]:
        """The objective names (contract 3), or ``value0, value1 ...`` for a foreign study."""
        names = self.user_attrs.get(STUDY_ATTR.OBJECTIVES)
        n = len(self.directions)
        if isinstance(names, list) and len(names) == n and all(isinstance(o, str) for o in names):
            return names
        return [f"value{i}" for i in range(n)]

    def set_user_attrs(self, attrs: dict) -> None:
        """Set the study's user attributes ``attrs`` (one transaction each)."""
        for k, v in attrs.items():
            self.storage.set_study_user_attr(self.study_id, k, v)

    def set_study_system_attr(self, key: str, value) -> None:
        self.storage.set_study_system_attr(self.study_id, key, value)

    def close(self) -> None:
        """Close the storage's pooled database connections now (a database storage; a journal
        holds none). A store opened for one write closes them here rather than whenever the
        garbage collector gets to them."""
        engine = getattr(self.storage, "engine", None)
        if engine is not None:
            engine.dispose()

    # -- reading trials --------------------------------------------------------------------
    def trials(self, states: Iterable | None = None) -> list:
        """The study's trials (``FrozenTrial``, not copies: do not modify), oldest first.

        Read through ``optuna.load_study``, which on a database storage re-reads
        only the trials that were unfinished or new since the last call.
        """
        if self._reader is None:
            self._reader = self.optuna_study()
        states = tuple(states) if states is not None else None
        return self._reader.get_trials(deepcopy=False, states=states)

    def counts(self) -> Counter:
        """``{TrialState: how many trials are in it}``."""
        from optuna.trial import TrialState

        counts = Counter({s: 0 for s in TrialState})
        counts.update(t.state for t in self.trials())
        return counts

    def trial_id(self, number: int) -> int | None:
        """The storage's id of trial ``number`` (None if there is none): Optuna keeps it
        private on ``Trial``/``FrozenTrial``, so it is looked up through the storage."""
        try:
            return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        except KeyError:
            return None

    def trial(self, number: int):
        """Trial ``number``, or None if the study has no such trial."""
        trial_id = self.trial_id(number)
        return None if trial_id is None else self.storage.get_trial(trial_id)

    def trial_by_id(self, trial_id: int):
        return self.storage.get_trial(trial_id)

    def trials_from(self, number: int) -> list:
        """Trials ``number``, ``number + 1`` ... up to the newest (cheap when few are new)."""
        out = []
        while (t := self.trial(number)) is not None:
            out.append(t)
            number += 1
        return out

    # -- writing trials --------------------------------------------------------------------
    def _new(self, state, params: dict, distributions: dict, system_attrs: dict) -> int:
        from optuna.trial import FrozenTrial, TrialState

        template = FrozenTrial(
            number=-1,
            state=state,
            value=None,
            values=None,
            datetime_start=datetime.now() if state == TrialState.RUNNING else None,
            datetime_complete=None,
            params=params,
            distributions={k: distributions[k] for k in params},
            user_attrs={},
            system_attrs=system_attrs,
            intermediate_values={},
            trial_id=-1,
        )
        return self.storage.create_new_trial(self.study_id, template)

    def start(self, params: dict, distributions: dict, system_attrs: dict) -> tuple[int, int]:
        """A new RUNNING trial with ``params`` (one transaction); returns ``(trial_id, number)``."""
        from optuna.trial import TrialState

        trial_id = self._new(TrialState.RUNNING, params, distributions, system_attrs)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def enqueue(self, params: dict, distributions: dict, system_attrs: dict) -> int:
        """A new WAITING trial with ``params``, for :meth:`claim`; returns its id."""
        from optuna.trial import TrialState

        return self._new(TrialState.WAITING, params, distributions, system_attrs)

    def claim(self, trial_id: int) -> bool:
        """Make a WAITING trial RUNNING; False when another process claimed or finished it."""
        import optuna
        from optuna.trial import TrialState

        try:
            return bool(self.storage.set_trial_state_values(trial_id, TrialState.RUNNING))
        except optuna.exceptions.UpdateFinishedTrialError:
            return False

    def set_trial_system_attrs(self, trial_id: int, attrs: dict) -> None:
        for k, v in attrs.items():
            self.storage.set_trial_system_attr(trial_id, k, v)

    def finish(self, trial_id: int, values: list[float] | None, user_attrs: dict, state=None):
        """Record a result: attributes, then COMPLETE with ``values`` (FAIL when None).

        ``state`` overrides the final state (e.g. PRUNED). A trial that is no longer
        RUNNING (another process recovered it) is left as it is; returns whether written.
        """
        import optuna
        from optuna.trial import TrialState

        try:
            if self.storage.get_trial(trial_id).state != TrialState.RUNNING:
                return False
            for k, v in user_attrs.items():
                self.storage.set_trial_user_attr(trial_id, k, v)
            final = state or (TrialState.FAIL if values is None else TrialState.COMPLETE)
            self.storage.set_trial_state_values(
                trial_id, final, None if values is None else list(values)
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            return False
        return True

    # -- tables ----------------------------------------------------------------------------
    def dataframe(self):
        """Optuna's ``trials_dataframe`` of every trial (attributes as nested values)."""
        return self.optuna_study().trials_dataframe(
            attrs=(
                "number",
                "state",
                "datetime_start",
                "datetime_complete",
                "duration",
                "params",
                "values",
                "user_attrs",
            ),
            multi_index=False,
        )


def _call(url: str, fn, *args):
    """``fn(*args)``, with a storage failure (corrupt file, lost connection) as one InputError."""
    import optuna

    try:
        return fn(*args)
    except (InputError, optuna.exceptions.DuplicatedStudyError):
        raise
    except Exception as exc:  # SQLAlchemy / journal errors on a broken storage
        why = _first_line(exc).replace(url, shown_url(url))
        raise InputError.plain(f"storage {shown_url(url)!r} cannot be read: {why}") from None
