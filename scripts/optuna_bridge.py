"""Optuna bridge of `dldl-meta worker` and `dldl-meta search --from-optuna`: JSON lines on stdin/stdout.

Each request is one line {"op": ..., ...}; each reply is one line {"ok": true, ...} or
{"ok": false, "error": "..."}. One long-lived process per worker, so that the heartbeat thread of
the running trial lives as long as the worker does and dies with it (kill -9 included).
The Rust side embeds this file (include_str!) and runs it with the project's .venv Python.
"""
import json
import math
import os
import re
import socket
import sys
import threading
import warnings

# `scheme://user:PASSWORD@host` and `password=PASSWORD`, as bridge.rs's redact() masks them.
PASSWORDS = (
    (re.compile(r'(://[^/\s"]*?:)[^/\s"]*(@[^/\s"@]*)'), r"\1***\2"),
    (re.compile(r"(password=)[^&\s\"']+"), r"\1***"),
)


def redact(text):
    for pattern, replacement in PASSWORDS:
        text = pattern.sub(replacement, text)
    return text


class Redacting:
    """A text stream that masks passwords in everything written to it (tracebacks, warnings, logs)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        return self.stream.write(redact(text))

    def __getattr__(self, name):
        return getattr(self.stream, name)


# Before Optuna is imported, so that its log handler writes through the mask too.
sys.stderr = Redacting(sys.stderr)

import optuna  # noqa: E402
from optuna.distributions import FloatDistribution  # noqa: E402
from optuna.storages import RetryHeartbeatStaleTrialCallback, fail_stale_trials  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
# The heartbeat API is marked experimental; the warning says nothing the researcher can act on.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
# The bridge runs the heartbeat thread itself (class Heartbeat), as Study.optimize would.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")

# Study user attributes a worker must agree with (the evaluator and φ space of the study).
CHECKED_ATTRS = ("dldl:task", "dldl:space", "dldl:evaluation")


def storage_of(req):
    """RDB storage (PostgreSQL, MySQL, SQLite) with heartbeat, or a journal file (journal:PATH)."""
    url = req["storage"]
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = url[len("journal:"):]
        if req.get("create") is None and not os.path.isfile(path):
            raise FileNotFoundError(f"journal file {path} does not exist (nothing was created)")
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ValueError(f"journal file {path}: its directory does not exist")
        return JournalStorage(JournalFileBackend(path))
    hb = req.get("heartbeat") or {}
    connect_args = {}
    if url.startswith("postgresql://"):
        # SQLAlchemy 2.1 defaults to psycopg 3; the project installs psycopg2.
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    if url.startswith(("postgresql", "mysql")):
        connect_args["connect_timeout"] = int(req.get("timeout_s", 30))
    retry = RetryHeartbeatStaleTrialCallback(max_retry=hb.get("max_retry", 3)) if hb.get("interval_s") else None
    return optuna.storages.RDBStorage(
        url,
        engine_kwargs={"connect_args": connect_args, "pool_pre_ping": True},
        heartbeat_interval=hb.get("interval_s"),
        grace_period=hb.get("grace_s"),
        heartbeat_stale_trial_callback=retry,
    )


def sampler_of(spec):
    kind, seed = spec["kind"], spec.get("seed")
    startup = spec.get("n_startup_trials")
    if kind == "tpe":
        kw = {"n_startup_trials": startup} if startup is not None else {}
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=spec.get("multivariate", False), **kw)
    if kind == "cmaes":
        kw = {"n_startup_trials": startup} if startup is not None else {}
        return optuna.samplers.CmaEsSampler(seed=seed, **kw)
    if kind == "gp":
        kw = {"n_startup_trials": startup} if startup is not None else {}
        return optuna.samplers.GPSampler(seed=seed, **kw)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler(spec["grid"], seed=seed)
    raise ValueError(f"unknown sampler {kind!r}")


def pruner_of(spec):
    if spec is None or spec.get("kind", "none") == "none":
        return optuna.pruners.NopPruner()
    if spec["kind"] == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=spec.get("p_threshold", 0.1), n_startup_steps=spec.get("n_startup_steps", 2))
    raise ValueError(f"unknown pruner {spec['kind']!r}")


def finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def brief(value, limit=300):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "…"


class Heartbeat:
    """Records the running trial's heartbeat every interval in a daemon thread (as Study.optimize does)."""

    def __init__(self, storage, trial_id):
        self.stop = threading.Event()
        interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
        self.thread = None
        if interval:
            self.thread = threading.Thread(target=self.beat, args=(storage, trial_id, interval), daemon=True)
            self.thread.start()

    def beat(self, storage, trial_id, interval):
        while True:
            try:
                storage.record_heartbeat(trial_id)
            except Exception as e:  # a lost connection must not kill the worker; the next request reports it
                print(f"optuna bridge: heartbeat of trial {trial_id} failed: {e}", file=sys.stderr)
            if self.stop.wait(timeout=interval):
                return

    def end(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


class Bridge:
    def __init__(self):
        self.study = None
        self.storage = None
        self.sampler = None
        self.running = {}

    @staticmethod
    def retrying(make, attempts=5):
        """Workers that start together race to create the schema of an empty database: the losers
        get an integrity or programming error and succeed on a later attempt, once the tables exist."""
        import random
        import time

        import sqlalchemy.exc

        for attempt in range(attempts):
            try:
                return make()
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5 + random.random())

    def op_open(self, req):
        self.storage = self.retrying(lambda: storage_of(req))
        create = req.get("create")
        name = req["study"]
        if create is None:
            if name not in [s.study_name for s in optuna.get_all_study_summaries(self.storage, include_best_trial=False)]:
                raise ValueError(f"no study named {name!r} in this storage")
            self.study = optuna.load_study(study_name=name, storage=self.storage)
            return {"attrs": self.study.user_attrs, "optuna": optuna.__version__}
        self.sampler = sampler_of(create["sampler"])
        self.study = optuna.create_study(
            study_name=name, storage=self.storage, sampler=self.sampler, pruner=pruner_of(create.get("pruner")),
            direction="minimize", load_if_exists=True,
        )
        existing = self.study.user_attrs
        for key, value in create["attrs"].items():
            if key in CHECKED_ATTRS and key in existing and existing[key] != value:
                raise ValueError(
                    f"study {name!r} was created with another {key[5:]}: the study has {brief(existing[key])}, "
                    f"this worker has {brief(value)}; use the study's task and study file, or another --study"
                )
        for key, value in create["attrs"].items():
            if key not in existing:
                self.study.set_user_attr(key, value)
        return {"attrs": self.study.user_attrs, "optuna": optuna.__version__}

    def opened(self):
        if self.study is None:
            raise ValueError("no study is open (the open request failed)")
        return self.study

    def op_ask(self, req):
        fail_stale_trials(self.opened())
        if isinstance(self.sampler, optuna.samplers.GridSampler) and self.sampler.is_exhausted(self.study):
            if not self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
                return {"exhausted": True}
        space = {p["name"]: FloatDistribution(p["low"], p["high"], log=p["log"]) for p in req["params"]}
        trial = self.study.ask(space)
        self.running[trial.number] = (trial, Heartbeat(self.storage, trial._trial_id))
        for key, value in req.get("attrs", {}).items():
            trial.set_user_attr(key, value)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getppid())
        trial.set_user_attr("optuna_version", optuna.__version__)
        frozen = self.study._storage.get_trial(trial._trial_id)
        # RetryHeartbeatStaleTrialCallback records the number of the trial it re-queues.
        return {"number": trial.number, "params": trial.params, "retry_of": frozen.system_attrs.get("failed_trial")}

    def op_report(self, req):
        trial, _ = self.running[req["number"]]
        value = finite(req.get("value"))
        if value is not None:
            trial.report(value, req["step"])
        return {"prune": trial.should_prune()}

    def op_attrs(self, req):
        trial, _ = self.running[req["number"]]
        for key, value in req["attrs"].items():
            trial.set_user_attr(key, value)
        return {}

    def op_tell(self, req):
        trial, heartbeat = self.running.pop(req["number"])
        heartbeat.end()
        state = req.get("state", "complete")
        try:
            if state == "complete":
                value = finite(req.get("value"))
                self.study.tell(trial, value if value is not None else float("inf"))
            elif state == "pruned":
                self.study.tell(trial, state=TrialState.PRUNED)
            else:
                self.study.tell(trial, state=TrialState.FAIL)
        except RuntimeError as e:
            # GridSampler calls Study.stop() after the last grid point, which only works inside
            # Study.optimize; the trial's state is already stored (Optuna writes it in a finally).
            if "Study.stop" not in str(e):
                raise
        return {}

    def op_trials(self, req):
        trials = []
        for t in self.opened().get_trials(deepcopy=False):
            trials.append({
                "number": t.number,
                "state": t.state.name.lower(),
                "value": finite(t.value) if t.value is not None else None,
                "params": t.params,
                "user_attrs": t.user_attrs,
                "intermediate": {str(k): finite(v) for k, v in t.intermediate_values.items()},
                "retry_of": t.system_attrs.get("failed_trial"),
                "start": t.datetime_start.isoformat() if t.datetime_start else None,
                "complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
            })
        return {"trials": trials, "attrs": self.study.user_attrs}

    def op_close(self, req):
        for _, heartbeat in self.running.values():
            heartbeat.end()
        return {"closed": True}


def main():
    out = sys.stdout
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the reply channel
    bridge = Bridge()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            reply = getattr(bridge, "op_" + req["op"])(req)
            reply["ok"] = True
        except Exception as e:
            reply = {"ok": False, "error": redact(f"{type(e).__name__}: {e}".strip())}
        try:
            text = json.dumps(reply, allow_nan=False, default=str)
        except ValueError as e:
            text = json.dumps({"ok": False, "error": f"reply not representable as JSON: {e}"})
        out.write(text + "\n")
        out.flush()
        if reply.get("closed"):
            return


if __name__ == "__main__":
    main()
