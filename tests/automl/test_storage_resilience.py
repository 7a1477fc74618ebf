"""Storage resilience without a server: connection errors are retried, the heartbeat never raises, a trial
another process finished never crashes the optimisation loop, passwords never reach a message."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy.exc

from tao_skill.automl import storage as st
from tao_skill.automl.launcher import _optimize
from tao_skill.errors import RunnerError


class _Session:
    removed = 0

    def remove_session(self) -> None:
        self.removed += 1


def _flaky(failures: int):
    calls = {"n": 0}

    def fn(self, x):
        calls["n"] += 1
        if calls["n"] <= failures:
            raise optuna.exceptions.StorageInternalError("commit failed") from sqlalchemy.exc.OperationalError(
                "SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return x * 2

    return fn, calls


def test_connection_errors_are_retried_until_the_database_answers(monkeypatch, capsys):
    monkeypatch.setattr(st, "DB_RETRY_S", 30.0)
    monkeypatch.setattr(st.time, "sleep", lambda s: None)
    fn, calls = _flaky(3)
    me = _Session()
    assert st._retrying(fn)(me, 21) == 42 and calls["n"] == 4 and me.removed == 3
    assert "unreachable" in capsys.readouterr().err


def test_other_errors_and_long_outages_are_raised(monkeypatch):
    monkeypatch.setattr(st.time, "sleep", lambda s: None)

    def bad(self):
        raise ValueError("not a connection problem")

    with pytest.raises(ValueError):
        st._retrying(bad)(_Session())
    monkeypatch.setattr(st, "DB_RETRY_S", -1.0)  # past the deadline at once
    fn, _ = _flaky(5)
    with pytest.raises(optuna.exceptions.StorageInternalError):
        st._retrying(fn)(_Session(), 1)


def test_every_backend_call_of_optunas_cached_storage_waits_out_an_outage():
    """Optuna wraps the RDB storage in _CachedStorage, which calls its backend's public AND private methods
    (a sampler reading trials mid-outage goes through ``_get_trials``): each of them must retry."""
    import inspect
    import re

    from optuna.storages import _cached_storage

    called = set(re.findall(r"self\._backend\.(\w+)\(", inspect.getsource(_cached_storage)))
    assert {"_get_trials", "get_trial", "set_trial_state_values"} <= called
    plain = {n for n in called if n not in ("record_heartbeat", "get_heartbeat_interval",
                                            "get_heartbeat_stale_trial_callback")
             and getattr(st.ResilientRDBStorage, n) is getattr(optuna.storages.RDBStorage, n)}
    assert plain == set(), f"not retried on a lost connection: {sorted(plain)}"


def test_the_heartbeat_never_raises(tmp_path, monkeypatch):
    storage = st.open_storage(f"sqlite:///{tmp_path / 'hb.db'}")
    monkeypatch.setattr(st, "DB_RETRY_S", -1.0)

    def down(self, trial_id):
        raise sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("connection refused"))

    monkeypatch.setattr(optuna.storages.RDBStorage, "record_heartbeat", down)
    assert storage.record_heartbeat(1) is None  # Optuna's heartbeat thread would have died here


class _Store:
    def get(self, _):
        return type("J", (), {"status": "running"})()


class _Runner:
    """Each trial is failed 'by another process' (as fail_stale_trials does) before it returns its value."""

    automl_job_id = "automl-x"
    store = _Store()

    def __init__(self, study):
        self.study, self.said = study, []

    def say(self, msg):
        self.said.append(msg)

    def objective(self, trial):
        if trial.number % 2 == 0:
            self.study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        return 1.0


def test_a_trial_failed_elsewhere_never_crashes_the_process(tmp_path):
    study = optuna.create_study(storage=st.open_storage(f"sqlite:///{tmp_path / 's.db'}"), study_name="s")
    runner = _Runner(study)
    _optimize(study, runner, max_trials=4, timeout=None)
    states = [t.state.name for t in study.get_trials()]
    assert states.count("COMPLETE") == 2 and states.count("FAIL") >= 2, states
    assert any("already finished by another process" in m for m in runner.said)


def test_urls_and_driver_errors_keep_passwords_out():
    assert st.safe_url("postgresql://u:pw123@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert st._scrub("FATAL: password pw123 rejected", "postgresql://u:pw123@h/db") == "FATAL: password *** rejected"
    with pytest.raises(RunnerError) as err:
        st.open_storage("postgresql+pg8000://u@127.0.0.1:1/db")  # a driver that is not installed
    assert "pip install pg8000" in str(err.value.errors[0].suggestion)
