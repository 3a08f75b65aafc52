"""Set up, train and serve the Rasa NLU server from the project's own training data.

Rasa 3.6 runs on Python 3.8-3.10 while gopa-desk needs 3.11+, so Rasa lives in its own
virtual environment in a machine cache directory (`RASA_HOME`, default
/var/cache/gopa-desk/rasa). That directory survives fresh clones: a second checkout on the
same machine reuses the environment and every model trained from identical data.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from nlu.entities import EntityExtractor
from nlu.rasa_backend import EntityFinder, rasa_text
from nlu.training_data import TrainingData

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
PROJECT_DIR = Path(__file__).resolve().parent / "rasa"
CONFIG_FILE = PROJECT_DIR / "config.yml"
DOMAIN_FILE = PROJECT_DIR / "domain.yml"
CONSTRAINTS_FILE = PROJECT_DIR / "constraints.txt"
# Packages the Rasa environment needs besides Rasa itself (the custom components' imports).
EXTRA_REQUIREMENTS: tuple[str, ...] = ("kiwipiepy>=0.18,<0.25",)
SUPPORTED_PYTHONS = ((3, 10), (3, 9), (3, 8))
DEFAULT_HOME = Path("/var/cache/gopa-desk/rasa")
PR_SET_PDEATHSIG = 1  # linux/prctl.h

_Log = Callable[[str], None]


class RasaSetupError(RuntimeError):
    """Rasa cannot be set up here; the message says what is missing."""


def rasa_home(configured: Path | None = None) -> Path:
    """The cache directory: the configured one, else /var/cache/gopa-desk/rasa when writable,
    else the user's cache directory."""
    if configured is not None:
        return configured.expanduser().resolve()
    parent = DEFAULT_HOME.parent
    if os.access(parent, os.W_OK) or (not parent.exists() and os.access(parent.parent, os.W_OK)):
        return DEFAULT_HOME
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gopa-desk" / "rasa"


def _python_version(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    major, _, minor = out.partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def _candidate_pythons() -> Iterator[str]:
    for major, minor in SUPPORTED_PYTHONS:
        name = f"python{major}.{minor}"
        found = shutil.which(name)
        if found:
            yield found
        pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
        for version_dir in sorted((pyenv_root / "versions").glob(f"{major}.{minor}.*"), reverse=True):
            yield str(version_dir / "bin" / name)
        for prefix in ("/usr/bin", "/usr/local/bin", "/opt/python/bin"):
            yield f"{prefix}/{name}"


def find_python(explicit: str | None = None) -> str:
    """A Python that Rasa 3.6 supports: `explicit` if given (it must work), else the newest
    3.8-3.10 on PATH, under pyenv or in the usual prefixes."""
    if explicit:
        version = _python_version(explicit)
        if version not in SUPPORTED_PYTHONS:
            raise RasaSetupError(f"{explicit} is Python {version}; Rasa {RASA_VERSION} needs 3.8, 3.9 or 3.10")
        return explicit
    for candidate in _candidate_pythons():
        if Path(candidate).exists() and _python_version(candidate) in SUPPORTED_PYTHONS:
            return candidate
    raise RasaSetupError(
        f"no Python 3.8-3.10 found for Rasa {RASA_VERSION}; install one (e.g. `pyenv install 3.10`) "
        "and pass it with --python or RASA_PYTHON"
    )


@dataclass(frozen=True)
class RasaEnv:
    """The Rasa virtual environment and model cache under one home directory."""

    home: Path

    @property
    def venv(self) -> Path:
        return self.home / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def rasa(self) -> Path:
        return self.venv / "bin" / "rasa"

    @property
    def models(self) -> Path:
        return self.home / "models"

    @property
    def work(self) -> Path:
        # Rasa writes .rasa/ caches into its working directory: keep them out of the repo.
        return self.home / "work"

    @property
    def _stamp(self) -> Path:
        return self.venv / ".gopa-requirements"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise installs and training between processes sharing the home (CI and people)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def requirements(self) -> list[str]:
        return [f"rasa=={RASA_VERSION}", *EXTRA_REQUIREMENTS]

    def installed_version(self) -> str | None:
        if not self.python.exists():
            return None
        try:
            return subprocess.run(
                [str(self.python), "-c", "from importlib.metadata import version; print(version('rasa'))"],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    def is_ready(self) -> bool:
        """The environment has this Rasa and every extra requirement installed."""
        stamp = self._stamp.read_text() if self._stamp.exists() else ""
        return stamp == "\n".join(self.requirements()) and self.installed_version() == RASA_VERSION

    def ensure(self, python: str | None = None, log: _Log = print) -> bool:
        """Create the environment and install Rasa unless it is already there; True if it installed."""
        with self.lock():
            if self.is_ready():
                return False
            if not self.python.exists() or _python_version(str(self.python)) not in SUPPORTED_PYTHONS:
                interpreter = find_python(python)
                log(f"creating {self.venv} with {interpreter}")
                shutil.rmtree(self.venv, ignore_errors=True)
                _run([interpreter, "-m", "venv", str(self.venv)])
                _run([str(self.python), "-m", "pip", "install", "--quiet", "--upgrade", "pip", "setuptools", "wheel"])
            log(f"installing {' '.join(self.requirements())} into {self.venv} (several minutes on a cold cache)")
            pip = [str(self.python), "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS_FILE)]
            _run([*pip, *self.requirements()])
            if self.installed_version() != RASA_VERSION:
                raise RasaSetupError(f"rasa {RASA_VERSION} is not importable in {self.venv} after installing")
            self._stamp.write_text("\n".join(self.requirements()))
            return True

    def process_env(self) -> dict[str, str]:
        """Environment for Rasa processes: custom components importable, no telemetry calls."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_DIR), env.get("PYTHONPATH", "")) if p)
        env["RASA_TELEMETRY_ENABLED"] = "false"
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        env["PATH"] = os.pathsep.join((str(self.venv / "bin"), env.get("PATH", "")))
        return env

    def model_path(self, data_files: Iterable[Path], config: Path = CONFIG_FILE) -> Path:
        return self.models / f"nlu-{fingerprint(data_files, config)}.tar.gz"

    def train(
        self, data_dir: Path, config: Path = CONFIG_FILE, *, force: bool = False, log: _Log = print
    ) -> tuple[Path, float | None]:
        """The model for the data in `data_dir` and the pipeline in `config`, trained unless a
        model with the same fingerprint exists (or `force`, to time a training). Returns the
        model and the training time (None: it was cached). Rasa's output goes to `work/train.log`."""
        # Rasa runs in `work/`: every path it gets must be absolute.
        data_dir, config = data_dir.resolve(), config.resolve()
        files = training_files(data_dir)
        if not files:
            raise RasaSetupError(f"no training data (*.yml) in {data_dir}")
        model = self.model_path(files, config)
        with self.lock():
            if model.exists() and not force:
                return model, None
            self.models.mkdir(parents=True, exist_ok=True)
            self.work.mkdir(parents=True, exist_ok=True)
            log(f"training the Rasa model on {len(files)} file(s) from {data_dir}")
            with tempfile.TemporaryDirectory(dir=self.home) as out:
                started = time.perf_counter()
                _run(
                    [
                        str(self.rasa),
                        "train",
                        "nlu",
                        "--nlu",
                        str(data_dir),
                        "--config",
                        str(config),
                        "--domain",
                        str(DOMAIN_FILE),
                        "--out",
                        out,
                        "--fixed-model-name",
                        model.name.removesuffix(".tar.gz"),
                    ],
                    # Rasa caches trained components in work/.rasa/cache; a forced training is
                    # meant to be timed from scratch.
                    env=self.process_env() | ({"RASA_MAX_CACHE_SIZE": "0"} if force else {}),
                    cwd=self.work,
                    log_file=self.work / "train.log",
                )
                elapsed = time.perf_counter() - started
                produced = Path(out) / model.name
                if not produced.exists():
                    raise RasaSetupError(f"rasa train did not write {produced.name}")
                # Rename inside one file system: a reader never sees half a model.
                os.replace(produced, model)
            return model, elapsed

    def serve_command(self, model: Path, port: int, host: str = "127.0.0.1") -> list[str]:
        return [str(self.rasa), "run", "--enable-api", "-m", str(model), "-i", host, "-p", str(port), "--quiet"]


def training_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.glob("*.yml") if p.is_file())


def fingerprint(data_files: Iterable[Path], config: Path = CONFIG_FILE) -> str:
    """What a model depends on: Rasa's version, the pipeline, the custom components and the data."""
    digest = hashlib.sha256(RASA_VERSION.encode())
    inputs = [config, DOMAIN_FILE, *sorted(PROJECT_DIR.glob("*.py"))]
    for path in [*inputs, *sorted(data_files, key=lambda p: p.name)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _run(command: list[str], log_file: Path | None = None, **kwargs: Any) -> None:
    logger.debug("running %s", command)
    if log_file is None:
        result = subprocess.run(command, check=False, **kwargs)
    else:
        with log_file.open("wb") as out:
            result = subprocess.run(command, check=False, stdout=out, stderr=subprocess.STDOUT, **kwargs)
    if result.returncode != 0:
        where = f"; its output is in {log_file}" if log_file else ""
        raise RasaSetupError(f"{' '.join(command[:4])} ... failed with exit code {result.returncode}{where}")


def wait_until_ready(url: str, timeout_s: float = 180.0, alive: Callable[[], bool] | None = None) -> float:
    """Poll `{url}/status` until Rasa has loaded its model, then parse once (Rasa's first parse
    builds its graph and takes seconds); returns the seconds until Rasa could answer.
    `alive` tells whether the server process still runs, to fail at once when it died."""
    started = time.perf_counter()
    deadline = started + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if alive is not None and not alive():
                raise RasaSetupError(f"the Rasa server for {url} exited before it was ready")
            try:
                response = client.get(f"{url}/status")
                if response.status_code == 200 and response.json().get("model_file"):
                    remaining = max(1.0, deadline - time.perf_counter())
                    client.post(f"{url}/model/parse", json={"text": "안녕하세요"}, timeout=remaining).raise_for_status()
                    return time.perf_counter() - started
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
    raise RasaSetupError(f"Rasa at {url} did not answer /status within {timeout_s:.0f} s")


def pid_running(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie (Linux /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RasaServer:
    url: str
    process: subprocess.Popen[bytes]
    start_s: float  # process start until /status named the model

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if Rasa has not gone within 20 s; safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when its parent dies, so a killed
    `gopa nlu rasa-serve` or test run never leaves a 1 GB Rasa behind."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def running_server(
    env: RasaEnv, model: Path, port: int | None = None, timeout_s: float = 180.0, *, to_terminal: bool = False
) -> Iterator[RasaServer]:
    """A `rasa run` serving `model` on a free loopback port for the duration of the block,
    ready to parse (its slow first parse done) when the block starts. Its output goes to
    `work/run-<port>.log`, or to this process's terminal with `to_terminal`."""
    port = port or free_port()
    env.work.mkdir(parents=True, exist_ok=True)
    with (env.work / f"run-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            env.serve_command(model, port),
            env=env.process_env(),
            cwd=env.work,
            stdout=None if to_terminal else log,
            stderr=None if to_terminal else subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        server = RasaServer(f"http://127.0.0.1:{port}", process, 0.0)
        try:
            server.start_s = wait_until_ready(server.url, timeout_s, alive=lambda: process.poll() is None)
            yield server
        finally:
            server.stop()


def write_training_yaml(examples: Iterable[Any], directory: Path, finder: EntityFinder | None = None) -> Path:
    """Examples (anything with `.text` and `.intent`, e.g. nlu.training_data.Example) as one
    Rasa NLU YAML file in `directory`, each text as the Rasa backend will send it (normalised,
    entity names masked by `finder`): Rasa learns from exactly what it will be asked."""
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        _, text, _ = rasa_text(example.text, finder)
        if text:
            by_intent.setdefault(example.intent, []).append(text)
    document = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
            for intent, texts in sorted(by_intent.items())
        ],
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "nlu.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def train_for(
    env: RasaEnv, data: TrainingData, *, split: bool = False, force: bool = False, log: _Log = print
) -> tuple[Path, float | None]:
    """The model for nlu/data (all of it, or its training split for an honest evaluation),
    generated into a scratch directory from the one source and trained unless cached."""
    training = data.split()[0] if split else list(data.examples)
    with tempfile.TemporaryDirectory(prefix="gopa-rasa-data-") as scratch:
        write_training_yaml(training, Path(scratch), EntityExtractor(data.entity_dictionary))
        return env.train(Path(scratch), force=force, log=log)
