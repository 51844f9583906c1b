"""The deployment files (Dockerfile, docker-compose.yaml, .env.example, docker/postgres/init.sql)
cross-checked with the code and with each other, without a Docker engine.

The files are parsed (PyYAML for compose, a small line parser for the Dockerfile) and compared
with requirements.txt, the Makefile, scripts/env.sh, the hooks' default connections and the
environment variables the code reads. Each test names the mistake it catches.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Names of variables/keys that hold secrets. *_FILE / *_PATH name where a secret is, not the secret.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|PRIVATE|CREDENTIAL", re.IGNORECASE)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}
LONG_RUNNING_RESTART = {"always", "unless-stopped"}
# Ports the official images listen on without saying so in the compose file.
WELL_KNOWN_PORTS = {"postgres:": 5432, "redis:": 6379}

# Variables the code reads without a default that the compose stack deliberately leaves unset.
# Set in compose for a library that reads them itself (the project's code does not).
READ_BY_LIBRARIES = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "mlflow's REST client: tries before an outage is reported",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "mlflow's REST client: backoff between those tries",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "mlflow's REST client: seconds per request",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "mlflow: artifact progress bars (off: one log line per update)",
}

NOT_SET_IN_COMPOSE = {
    "MLOPS_MLFLOW_ARTIFACT_ROOT": (
        "read only with a local (non-HTTP) tracking URI; in compose the MLflow server decides where artifacts go"
    ),
    "MLOPS_AUDIT_DB_URL": (
        "fallback only: compose gives the audit trail the Airflow connection mlops_audit (PostgreSQL), which wins"
    ),
    "MLOPS_SMTP_HOST": (
        "fallback host for SMTP notification targets whose Airflow connection has none; no model config sends "
        "e-mail, and the connection is the intended place for the host"
    ),
}


def read(rel: str) -> str:
    return (ROOT / rel).read_text(encoding="utf-8")


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.upper().endswith(("_FILE", "_PATH"))


# -- requirements and pip ------------------------------------------------------------------------
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)", re.MULTILINE)
PIP_INSTALL_RE = re.compile(r"\bpip3?\s+install\b([^;&|\n]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(rel: str = "requirements.txt") -> dict[str, str]:
    return {canonical(name): version for name, version in PIN_RE.findall(read(rel))}


def requirement_closure(rel: str) -> set[str]:
    """The requirements file and every file it pulls in with -r, relative to the project root."""
    seen: set[str] = set()
    todo = [rel]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for line in read(current).splitlines():
            match = re.match(r"\s*(?:-r|--requirement)(?:\s+|=)(\S+)", line)
            if match:
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(current), match.group(1))))
    return seen


def pip_installs(command: str) -> list[tuple[list[str], list[str]]]:
    """(requirement files, constraint files) of every `pip install` in a shell command."""
    found = []
    for match in PIP_INSTALL_RE.finditer(command):
        requirements: list[str] = []
        constraints: list[str] = []
        tokens = iter(shlex.split(match.group(1)))
        for token in tokens:
            if token in ("-r", "--requirement"):
                requirements.append(next(tokens))
            elif token in ("-c", "--constraint"):
                constraints.append(next(tokens))
            elif token.startswith(("--requirement=", "--constraint=")):
                name, _, value = token.partition("=")
                (requirements if name == "--requirement" else constraints).append(value)
        found.append((requirements, constraints))
    return found


# -- Dockerfile ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse_dockerfile(source: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(source.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also inside a continued instruction, as Docker does
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        keyword, _, args = " ".join(parts).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        parts = []
    assert not parts, "Dockerfile ends inside a continued instruction"
    return instructions


@cache
def dockerfile() -> tuple[Instruction, ...]:
    return tuple(parse_dockerfile(read("Dockerfile")))


def instructions(keyword: str) -> list[Instruction]:
    return [ins for ins in dockerfile() if ins.keyword == keyword]


def parse_copy(args: str) -> tuple[list[str], list[str], str]:
    """(flags, sources, destination) of a COPY/ADD instruction, shell or JSON form."""
    flags = []
    rest = args
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.lstrip()
    paths = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    return flags, paths[:-1], paths[-1]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in instructions("ENV"):
        tokens = shlex.split(ins.args)
        if "=" not in tokens[0]:  # legacy `ENV KEY value`
            env[tokens[0]] = " ".join(tokens[1:])
            continue
        for token in tokens:
            key, _, value = token.partition("=")
            env[key] = value
    return env


def dockerfile_pip_installs() -> list[tuple[Instruction, list[str], list[str]]]:
    """Each `pip install` in a RUN, its -r/-c files mapped back to the files COPYed from the repo.

    A file that was not copied into the image before that RUN maps to ``None``.
    """
    workdir = "/"
    copied: dict[str, str] = {}  # path in the image -> path in the repo
    found = []
    for ins in dockerfile():
        if ins.keyword == "WORKDIR":
            workdir = posixpath.join(workdir, ins.args)
        elif ins.keyword in ("COPY", "ADD"):
            flags, sources, dest = parse_copy(ins.args)
            if any(flag.startswith("--from") for flag in flags):
                continue
            into_dir = dest.endswith("/") or len(sources) > 1
            dest = posixpath.join(workdir, dest)
            for source in sources:
                target = posixpath.join(dest, posixpath.basename(source.rstrip("/"))) if into_dir else dest
                copied[posixpath.normpath(target)] = posixpath.normpath(source)
        elif ins.keyword == "RUN":
            for requirements, constraints in pip_installs(ins.args):

                def repo_path(path: str) -> str | None:
                    return copied.get(posixpath.normpath(posixpath.join(workdir, path)))  # noqa: B023

                found.append((ins, [repo_path(p) for p in requirements], [repo_path(p) for p in constraints]))
    return found


def copy_destinations() -> dict[str, str]:
    """Repo path -> absolute path in the image, for every COPY from the build context."""
    workdir = "/"
    result = {}
    for ins in dockerfile():
        if ins.keyword == "WORKDIR":
            workdir = posixpath.join(workdir, ins.args)
        elif ins.keyword == "COPY":
            flags, sources, dest = parse_copy(ins.args)
            if any(flag.startswith("--from") for flag in flags):
                continue
            into_dir = dest.endswith("/") or len(sources) > 1
            for source in sources:
                target = posixpath.join(workdir, dest)
                if into_dir:
                    target = posixpath.join(target, posixpath.basename(source.rstrip("/")))
                result[posixpath.normpath(source)] = posixpath.normpath(target)
    return result


# -- compose ---------------------------------------------------------------------------------------
REF_RE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


@dataclass(frozen=True)
class Ref:
    """One `${NAME...}` interpolation in the compose file."""

    name: str
    op: str  # "", ":-", "-", ":?", "?", ":+", "+"
    arg: str


class MissingVariableError(LookupError):
    pass


def _scan(value: str) -> Iterator[tuple[int, int, Ref | None]]:
    """(start, end, ref) for each `$` construct; ref None for `$$` (a literal $ for the container)."""
    i = 0
    while (j := value.find("$", i)) >= 0:
        if value.startswith("$$", j):
            yield j, j + 2, None
            i = j + 2
            continue
        match = REF_RE.match(value, j)
        if match is None:
            i = j + 1
            continue
        name = match.group("name") or match.group("bare")
        yield j, match.end(), Ref(name, match.group("op") or "", match.group("arg") or "")
        i = match.end()


def refs_in(value: str) -> list[Ref]:
    return [ref for _, _, ref in _scan(value) if ref is not None]


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one string (the subset of the spec this project uses)."""
    out = []
    i = 0
    for start, end, ref in _scan(value):
        out.append(value[i:start])
        i = end
        if ref is None:
            out.append("$")
            continue
        present, current = ref.name in env, env.get(ref.name, "")
        if ref.op in (":?", "?") and not (current if ref.op == ":?" else present):
            raise MissingVariableError(f"{ref.name}: {ref.arg}")
        if ref.op == ":-":
            out.append(current or ref.arg)
        elif ref.op == "-":
            out.append(current if present else ref.arg)
        elif ref.op == ":+":
            out.append(ref.arg if current else "")
        elif ref.op == "+":
            out.append(ref.arg if present else "")
        else:
            out.append(current)
    out.append(value[i:])
    return "".join(out)


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(read("docker-compose.yaml"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


@cache
def env_example() -> dict[str, tuple[str, bool]]:
    """KEY -> (value, has a comment on the line above) for every assignment in .env.example."""
    lines = read(".env.example").splitlines()
    result: dict[str, tuple[str, bool]] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", stripped)
        assert match, f".env.example line {index + 1} is not KEY=value: {line!r}"
        key, value = match.groups()
        assert key not in result, f".env.example sets {key} twice"
        result[key] = (value, index > 0 and lines[index - 1].strip().startswith("#"))
    return result


def filled_env() -> dict[str, str]:
    """.env.example as a user fills it in: every empty secret gets a value."""
    env = {key: value for key, (value, _) in env_example().items()}
    for key, value in env.items():
        if not value and is_secret_name(key):
            env[key] = f"test-{key.lower()}"
    return env


def resolve(value: str) -> str:
    return interpolate(value, filled_env())


def raw_env(name: str) -> dict[str, str]:
    env = services()[name].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def service_env(name: str) -> dict[str, str]:
    return {key: resolve(value) for key, value in raw_env(name).items()}


def command_text(svc: dict[str, Any], key: str = "command") -> str:
    cmd = svc.get(key) or ""
    return cmd if isinstance(cmd, str) else " ".join(str(part) for part in cmd)


def airflow_role(svc: dict[str, Any]) -> str | None:
    """'init', an Airflow component name, 'worker', or None for a service that is not Airflow."""
    cmd = command_text(svc).strip()
    if "airflow db migrate" in cmd:
        return "init"
    if re.search(r"\bcelery\s+worker\b", cmd):
        return "worker"
    if cmd.split(" ", 1)[0] in AIRFLOW_COMPONENTS:
        return cmd.split(" ", 1)[0]
    match = re.search(r"\bairflow\s+(api-server|scheduler|dag-processor|triggerer)\b", cmd)
    return match.group(1) if match else None


def airflow_services() -> dict[str, str]:
    return {name: role for name, svc in services().items() if (role := airflow_role(svc))}


def service_for(role: str) -> str:
    matches = [name for name, r in airflow_services().items() if r == role]
    assert len(matches) == 1, f"expected one Airflow {role} service, found {matches}"
    return matches[0]


def dependencies(svc: dict[str, Any]) -> dict[str, str | None]:
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps)
    return {target: (cfg or {}).get("condition") for target, cfg in deps.items()}


def one_shot_services() -> set[str]:
    return {
        target
        for svc in services().values()
        for target, condition in dependencies(svc).items()
        if condition == "service_completed_successfully"
    }


def mlflow_service() -> str:
    found = [name for name, svc in services().items() if re.search(r"\bmlflow\s+server\b", command_text(svc))]
    assert len(found) == 1, f"expected one service running `mlflow server`, found {found}"
    return found[0]


def scripts(svc: dict[str, Any]) -> list[str]:
    """Shell code run in the container: command/entrypoint strings and CMD-SHELL healthchecks."""
    parts = [*strings(svc.get("command")), *strings(svc.get("entrypoint"))]
    test = (svc.get("healthcheck") or {}).get("test")
    if isinstance(test, list) and test[:1] == ["CMD-SHELL"]:
        parts.extend(test[1:])
    elif isinstance(test, str):
        parts.append(test)
    return parts


DB_URI_RE = re.compile(
    r"^(?P<scheme>[^:]+)://(?P<user>[^:@/]+):(?P<password>.*)@(?P<host>[^@/:]+)(?::(?P<port>\d+))?/(?P<db>[^/?]+)$"
)


def parse_db_uri(raw: str) -> dict[str, str]:
    match = DB_URI_RE.match(raw)
    assert match, f"not a database URI with user:password@host/db: {raw!r}"
    return match.groupdict()


def image_tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def shell_vars(value: str, env: dict[str, str]) -> str:
    """$NAME / ${NAME} replaced from the container environment (for values passed to the CLI)."""
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: env.get(m.group(1), m.group(0)), value)


# == Dockerfile =====================================================================================
def test_dockerfile_base_image_matches_requirements_and_python():
    """FROM pins the Airflow that requirements.txt pins, on the venv's Python (3.11)."""
    froms = instructions("FROM")
    assert len(froms) == 1, "one stage expected: the official Airflow image plus our layers"
    match = re.fullmatch(r"apache/airflow:(?P<airflow>\d+\.\d+\.\d+)-python(?P<python>\d+\.\d+)", froms[0].args)
    assert match, f"FROM must be apache/airflow:<version>-python<X.Y>, got {froms[0].args!r}"
    assert match["airflow"] == pins()["apache-airflow"], "Airflow in FROM differs from the requirements.txt pin"
    python = match["python"]
    assert python == "3.11"
    requires = tomllib.loads(read("pyproject.toml"))["project"]["requires-python"]
    assert SpecifierSet(requires).contains(f"{python}.0"), f"pyproject requires-python {requires} excludes {python}"
    makefile_python = re.search(r"^PYTHON\s*\?=\s*python(\d+\.\d+)\s*$", read("Makefile"), re.MULTILINE)
    assert makefile_python and makefile_python.group(1) == python, "Makefile builds the venv on another Python"


def test_dockerfile_and_makefile_install_the_same_pinned_requirements():
    """The image installs requirements.txt under constraints.txt, as `make install` does (minus dev tools)."""
    installs = [(ins, reqs, cons) for ins, reqs, cons in dockerfile_pip_installs() if reqs]
    assert len(installs) == 1, "expected one `pip install -r ...` in the Dockerfile"
    ins, reqs, cons = installs[0]
    assert None not in reqs + cons, f"line {ins.line}: pip installs a file not COPYed into the image before it"
    assert reqs == ["requirements.txt"], "the image installs the runtime requirements only (no test tools)"
    assert cons == ["constraints.txt"], "without constraints.txt the image resolves other versions than CI"
    assert "--no-cache-dir" in ins.args
    assert "requirements-dev.txt" not in requirement_closure(reqs[0])

    make_installs = [found for found in pip_installs(read("Makefile")) if found[0]]
    assert make_installs, "no `pip install -r` in the Makefile"
    for make_reqs, make_cons in make_installs:
        assert "requirements.txt" in set().union(*(requirement_closure(r) for r in make_reqs))
        assert make_cons == cons, "the Makefile and the Dockerfile must install under the same constraints file"


def test_makefile_installs_with_uv_and_falls_back_to_pip_on_the_same_files():
    """`make install`: uv (pinned, the version benchmarks/install_benchmark.py reads) and pip as the
    fallback install the same requirement and constraint files."""
    makefile = read("Makefile")
    assert re.search(r"^UV_VERSION \?= \d+\.\d+\.\d+$", makefile, re.MULTILINE), "uv must be pinned"
    assert '"uv==$(UV_VERSION)"' in makefile
    uv_lines = [line for line in makefile.splitlines() if "uv pip install" in line]
    pip_lines = [line for line in makefile.splitlines() if "/pip install" in line and "-r " in line]
    assert len(uv_lines) == 1 and len(pip_lines) == 1, (uv_lines, pip_lines)
    assert pip_installs(uv_lines[0]) == pip_installs(pip_lines[0]) == [(["requirements-dev.txt"], ["constraints.txt"])]


def test_dockerfile_user_and_copies():
    """Runs as the airflow user; copies only existing project paths, owned by airflow, no secrets."""
    users = instructions("USER")
    assert users and users[-1].args.split(":")[0] == "airflow", "the image must not end as root"
    copies = instructions("COPY") + instructions("ADD")
    copied = set()
    for ins in copies:
        flags, sources, _ = parse_copy(ins.args)
        assert any(flag.startswith("--chown=airflow") for flag in flags), f"line {ins.line}: COPY without --chown"
        for source in sources:
            assert source not in (".", "./", "*"), f"line {ins.line}: copying the whole context can copy secrets"
            assert not fnmatch.fnmatch(posixpath.basename(source), ".env*"), f"line {ins.line}: copies {source}"
            assert (ROOT / source).exists(), f"line {ins.line}: {source} does not exist in the project"
            copied.add(posixpath.normpath(source))
    assert {"dags", "plugins", "include"} <= copied
    for ins in instructions("ENV") + instructions("ARG"):
        names = [token.partition("=")[0] for token in shlex.split(ins.args)]
        assert not [n for n in names if is_secret_name(n)], f"line {ins.line}: a secret baked into the image"


def test_dockerfile_environment_turns_telemetry_off():
    """Same no-telemetry settings as scripts/env.sh (no network: nothing may wait on a call home)."""
    env = {key: value.lower() for key, value in dockerfile_env().items()}
    required = {
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GX_ANALYTICS_ENABLED": "false",
        "SCARF_ANALYTICS": "false",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    }
    # Every unconditional export of scripts/env.sh (the telemetry block) holds in the image too.
    fixed = dict(re.findall(r"^export ([A-Z][A-Z0-9_]*)=([^\s$\"']+)\s*$", read("scripts/env.sh"), re.MULTILINE))
    assert "DO_NOT_TRACK" in fixed, "scripts/env.sh parse failed"
    required |= {key: value.lower() for key, value in fixed.items()}
    for key, value in required.items():
        assert env.get(key) == value, f"Dockerfile ENV {key}={env.get(key)!r}, expected {value!r}"
    for name in airflow_services():
        for key, value in service_env(name).items():
            if key in required:
                assert value.lower() == required[key], f"{name} overrides {key} with {value!r}"


def test_code_paths_in_image_and_mounts_agree():
    """include/ and plugins/ are importable (PYTHONPATH) where the image copies and compose mounts them."""
    dest = copy_destinations()
    pythonpath = dockerfile_env().get("PYTHONPATH", "").split(":")
    assert posixpath.dirname(dest["include"]) in pythonpath, "`import include...` fails in the image"
    assert dest["plugins"] in pythonpath, "`import mlops_airflow...` fails in the image"
    for name in airflow_services():
        svc = services()[name]
        mounts = {}
        for volume in svc.get("volumes") or []:
            source, target = volume.split(":")[:2]
            mounts[posixpath.normpath(source)] = target
        for folder in ("dags", "plugins", "include"):
            assert mounts.get(folder) == dest[folder], f"{name} mounts ./{folder} elsewhere than the image has it"
        dags_folder = service_env(name).get("AIRFLOW__CORE__DAGS_FOLDER", "/opt/airflow/dags")
        assert dags_folder == dest["dags"], f"{name}: the DAG folder is not where the DAGs are"
        if "PYTHONPATH" in service_env(name):
            assert set(pythonpath) <= set(service_env(name)["PYTHONPATH"].split(":"))


def test_only_the_celery_workers_preload_the_pipelines_libraries():
    """The worker's PYTHONPATH starts with the folder of the preload ``airflow_local_settings``
    (in the image and the mount); no other Airflow service has it (the api-server and the
    scheduler would carry the libraries for nothing)."""
    dest = copy_destinations()
    preload = ROOT / "include" / "platform" / "preload" / "airflow_local_settings.py"
    assert preload.is_file()
    in_image = posixpath.join(dest["include"], "platform", "preload")
    for name, role in airflow_services().items():
        first = service_env(name).get("PYTHONPATH", "").split(":")[0]
        assert (first == in_image) == (role == "worker"), f"{name} ({role}): PYTHONPATH starts with {first!r}"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    patterns = [line.strip() for line in read(".dockerignore").splitlines() if line.strip()]
    patterns = [p for p in patterns if not p.startswith("#")]

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:  # last match wins, `!` re-includes
            negate = pattern.startswith("!")
            glob = pattern.lstrip("!").strip("/").removeprefix("**/")
            if fnmatch.fnmatch(path, glob):
                result = not negate
        return result

    for path in (".env", ".env.local", ".venv", ".local", ".git", ".pytest_cache", "test-artifacts"):
        assert ignored(path), f".dockerignore does not exclude {path}"
    assert not ignored("requirements.txt") and not ignored("include"), ".dockerignore excludes what the image needs"
    assert ".env" in read(".gitignore").split(), ".env must never be committed"


# == compose: structure ===========================================================================
def test_compose_images_are_pinned():
    """Every image has an explicit, non-floating tag (or digest); built images carry a tag too."""
    for name, svc in services().items():
        image = svc.get("image")
        if "build" in svc:
            assert image and image_tag(image), f"{name}: name the built image with a tag"
            continue
        assert image, f"{name}: no image and no build"
        if "@sha256:" in image:
            continue
        tag = image_tag(image)
        assert tag, f"{name}: {image} has no tag (means latest)"
        assert tag != "latest" and "$" not in tag, f"{name}: {image} is not pinned"
        assert not re.fullmatch(r"v?\d+", tag), f"{name}: {image} floats over a whole major version"


def test_long_running_services_have_healthchecks_and_restart():
    one_shots = one_shot_services()
    for name, svc in services().items():
        restart = str(svc.get("restart", "no"))
        if name in one_shots:
            assert restart in ("no", "False"), f"{name} is awaited to complete: it must not restart"
            continue
        health = svc.get("healthcheck") or {}
        test = health.get("test")
        assert test and not health.get("disable"), f"{name}: long-running service without a healthcheck"
        assert test != ["NONE"], f"{name}: healthcheck disabled"
        assert restart in LONG_RUNNING_RESTART, f"{name}: long-running service with restart={restart!r}"


def test_depends_on_targets_exist_and_wait_for_a_condition():
    one_shots = one_shot_services()
    for name, svc in services().items():
        for target, condition in dependencies(svc).items():
            assert target in services(), f"{name} depends on unknown service {target}"
            assert condition in ("service_healthy", "service_completed_successfully"), (
                f"{name} -> {target}: condition {condition!r} starts {name} before {target} is ready"
            )
            if condition == "service_healthy":
                assert services()[target].get("healthcheck"), f"{name} waits for {target} to be healthy: no check"
            else:
                assert target in one_shots

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        for target in dependencies(services()[name]):
            visit(target, (*path, name))

    for name in services():
        visit(name, ())


def test_scheduler_health_server_is_enabled_where_it_is_probed():
    for name, svc in services().items():
        if ":8974" in " ".join(strings((svc.get("healthcheck") or {}).get("test"))):
            value = service_env(name).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "false")
            assert value.lower() == "true", f"{name} probes :8974 but the health server is off: never healthy"


def test_published_ports_bind_to_loopback_by_default():
    """The MLflow server and MinIO console have no auth of their own: not on every interface by default."""
    for name, svc in services().items():
        for entry in svc.get("ports") or []:
            if isinstance(entry, dict):
                host_ip = resolve(str(entry.get("host_ip", "")))
            else:
                parts = resolve(str(entry)).split(":")
                host_ip = parts[0] if len(parts) == 3 else ""
            assert host_ip in ("127.0.0.1", "localhost"), f"{name} publishes {entry!r} on all interfaces"


# == compose: variables and secrets ===============================================================
def test_compose_variables_are_documented_in_env_example():
    used = {ref.name for value in strings(compose()) for ref in refs_in(value)}
    example = env_example()
    assert used, "no ${VAR} found in docker-compose.yaml"
    assert not used - example.keys(), f"used in compose, missing from .env.example: {sorted(used - example.keys())}"
    assert not example.keys() - used, f"in .env.example, unused by compose: {sorted(example.keys() - used)}"
    undocumented = [key for key, (_, commented) in example.items() if not commented]
    assert not undocumented, f".env.example variables without a comment above them: {undocumented}"
    resolve_all = [resolve(value) for value in strings(compose())]  # raises on a missing required variable
    assert resolve_all


def test_compose_defaults_match_env_example():
    """A variable's default is the same everywhere in compose and equal to the documented value."""
    defaults: dict[str, set[str]] = {}
    for value in strings(compose()):
        for ref in refs_in(value):
            if ref.op in (":-", "-"):
                defaults.setdefault(ref.name, set()).add(ref.arg)
    for name, values in defaults.items():
        assert len(values) == 1, f"{name} has different defaults in compose: {sorted(values)}"
        documented = env_example()[name][0]
        assert documented == next(iter(values)), f"{name}: compose default {values} but .env.example {documented!r}"


def test_no_secret_is_committed():
    """Secrets are required `${VAR:?...}` references in compose and empty placeholders in .env.example."""
    for value in strings(compose()):
        for ref in refs_in(value):
            if is_secret_name(ref.name):
                assert ref.op == ":?", f"${{{ref.name}}} must be required with no default: use ${{{ref.name}:?...}}"
    for name in services():
        for key, value in raw_env(name).items():
            if is_secret_name(key):
                refs = refs_in(value)
                assert len(refs) == 1 and value.strip() == value and value.startswith("${") and value.endswith("}"), (
                    f"{name}: {key} must be exactly one ${{VAR:?...}} reference, got {value!r}"
                )
                assert is_secret_name(refs[0].name), f"{name}: {key} takes its value from non-secret {refs[0].name}"
    for value in strings(compose()):
        for match in re.finditer(r"://[^/\s:@]+:([^@\s]*)@", value):
            password = match.group(1)
            refs = refs_in(password)
            assert refs and all(is_secret_name(r.name) and r.op == ":?" for r in refs), (
                f"credentials in a URI must come from a required secret variable: {value!r}"
            )
        for match in re.finditer(r"--conn-password\s+\"?([^\s\"]+)", value):
            assert match.group(1).startswith("$"), f"literal connection password in compose: {match.group(0)!r}"
    for key, (value, _) in env_example().items():
        if is_secret_name(key):
            assert value == "", f".env.example must leave {key} empty (a placeholder, never a real value)"


def test_container_shell_variables_are_defined():
    """Every `$$VAR` a container's shell expands is in that service's environment (or set by the script)."""
    for name, svc in services().items():
        env = raw_env(name)
        for script in scripts(svc):
            local = set(re.findall(r"\b([A-Za-z_]\w*)=", script)) | set(re.findall(r"\bfor\s+(\w+)\s+in\b", script))
            for var in re.findall(r"\$\$\{?([A-Za-z_]\w*)", script):
                assert var in env or var in local or var in ("HOSTNAME", "HOME", "PATH"), (
                    f"{name}: the script uses ${var}, which is not in its environment"
                )


def test_env_vars_the_code_reads_are_set_for_airflow():
    """Every variable read without a default in include/, plugins/, dags/ reaches every Airflow container."""
    get_re = re.compile(
        r"""os\.(?:environ\.get|getenv)\(\s*(["'])(?P<name>[A-Za-z_]\w*)\1\s*(?P<after>,|\)\s*or\b|\))"""
    )
    item_re = re.compile(r"""os\.environ\[\s*(["'])(?P<name>[A-Za-z_]\w*)\1\s*\](?!\s*=(?!=))""")
    read_by_code: dict[str, bool] = {}  # name -> every read has a default
    for folder in ("include", "plugins", "dags"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for match in get_re.finditer(source):
                has_default = match.group("after") != ")"
                read_by_code[match["name"]] = read_by_code.get(match["name"], True) and has_default
            for match in item_re.finditer(source):
                read_by_code[match["name"]] = False
    assert {"MLOPS_DATA_ROOT", "MLFLOW_TRACKING_URI", "MLOPS_S3_ENDPOINT_URL"} <= read_by_code.keys(), (
        "the scan no longer finds the variables the code reads"
    )
    required = {name for name, has_default in read_by_code.items() if not has_default}
    stale = set(NOT_SET_IN_COMPOSE) - required
    assert not stale, f"allow-list entries the code no longer reads without a default: {sorted(stale)}"
    assert airflow_services()
    for service in airflow_services():
        env = service_env(service)
        missing = required - env.keys() - set(NOT_SET_IN_COMPOSE)
        assert not missing, f"{service}: the code reads {sorted(missing)} with no default, compose does not set it"
        assert not set(NOT_SET_IN_COMPOSE) & env.keys(), "set in compose now: remove it from NOT_SET_IN_COMPOSE"
        # The other way round: a project variable set here that nothing reads is a typo or left over.
        script = " ".join(scripts(services()[service]))
        for key in env:
            if key.startswith(("MLOPS_", "MLFLOW_")):
                assert key in read_by_code or key in READ_BY_LIBRARIES or f"${key}" in script.replace("$$", "$"), (
                    f"{service} sets {key}, which neither the code nor the service's command reads"
                )


def test_notification_url_env_vars_reach_the_tasks():
    """Webhook targets in model configs name the variable holding their URL: it must be set for tasks."""
    configs = sorted((ROOT / "include" / "models").glob("*.yaml"))
    assert configs
    for path in configs:
        for target in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("notifications") or []:
            if isinstance(target, dict) and target.get("url_env"):
                for service in airflow_services():
                    assert target["url_env"] in service_env(service), f"{path.name}: {target['url_env']} unset"


# == compose: Airflow =============================================================================
def test_airflow_components_share_one_configuration():
    """api-server, scheduler, dag-processor and triggerer exist and agree on DB, keys and executor."""
    roles = set(airflow_services().values())
    assert {"init", *AIRFLOW_COMPONENTS} <= roles, f"missing Airflow services: {set(AIRFLOW_COMPONENTS) - roles}"
    critical = (
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    )
    envs = {name: service_env(name) for name in airflow_services()}
    reference_name, reference = next(iter(envs.items()))
    for name, env in envs.items():
        for key in critical:
            assert key in env, f"{name} does not set {key}"
        for key in env.keys() & reference.keys():
            assert env[key] == reference[key], f"{key} differs between {name} and {reference_name}"
    url = urlsplit(reference["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    api_server = service_for("api-server")
    assert url.hostname == api_server and url.path.rstrip("/") == "/execution", (
        "tasks must reach the Execution API on the api-server service"
    )


def test_executor_is_consistent():
    executors = {service_env(name).get("AIRFLOW__CORE__EXECUTOR") for name in airflow_services()}
    assert len(executors) == 1 and None not in executors, f"AIRFLOW__CORE__EXECUTOR differs or is unset: {executors}"
    executor = executors.pop()
    celery_keys = {
        key for name in airflow_services() for key in service_env(name) if key.startswith("AIRFLOW__CELERY__")
    }
    workers = [name for name, svc in services().items() if re.search(r"\bcelery\s+worker\b", command_text(svc))]
    broker_image = re.compile(r"(.*/)?(redis|rabbitmq|valkey)[:@]")
    brokers = [name for name, svc in services().items() if broker_image.match(str(svc.get("image", "")))]
    if executor == "CeleryExecutor":
        assert "AIRFLOW__CELERY__BROKER_URL" in celery_keys and workers, "CeleryExecutor needs a broker and workers"
        return
    assert executor == "LocalExecutor", f"this stack supports LocalExecutor or CeleryExecutor, not {executor}"
    assert not celery_keys and not workers and not brokers, "Celery settings/services without the CeleryExecutor"
    conn = service_env(service_for("scheduler"))["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert not conn.startswith("sqlite"), "LocalExecutor needs a real database, not SQLite"


def test_airflow_metadata_db_is_the_postgres_database():
    postgres = [name for name, svc in services().items() if str(svc.get("image", "")).startswith("postgres:")]
    assert len(postgres) == 1
    pg_raw = raw_env(postgres[0])
    pg = service_env(postgres[0])
    for name in airflow_services():
        uri = parse_db_uri(raw_env(name)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert uri["scheme"].startswith("postgresql"), f"{name}: metadata DB is not PostgreSQL"
        assert uri["host"] == postgres[0] and uri["port"] in (None, "5432")
        assert uri["user"] == pg["POSTGRES_USER"] and uri["db"] == pg["POSTGRES_DB"], (
            f"{name}: user/database differ from the ones the postgres service creates"
        )
        assert [r.name for r in refs_in(uri["password"])] == [r.name for r in refs_in(pg_raw["POSTGRES_PASSWORD"])]


def init_script() -> str:
    """airflow-init's shell script as the container's shell sees it (`$$` -> `$`, lines joined)."""
    return " ".join(scripts(services()[service_for("init")])).replace("$$", "$").replace("\\\n", " ")


def init_connection_adds() -> dict[str, dict[str, str]]:
    """conn id -> {option: value} of every `airflow connections add` in airflow-init."""
    adds: dict[str, dict[str, str]] = {}
    for line in init_script().splitlines():
        if "airflow connections add" not in line:
            continue
        tokens = shlex.split(line.split("airflow connections add", 1)[1])
        adds[tokens[0]] = dict(zip(tokens[1::2], tokens[2::2], strict=False))
    return adds


def test_airflow_init_creates_the_hooks_default_connections():
    """aws_default, mlflow_default and mlops_audit (the hooks' defaults) are (re)created by airflow-init."""
    hook_sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "plugins/mlops_airflow/hooks").glob("*.py"))
    defaults = set(re.findall(r"default_conn_name\s*=\s*[\"'](\w+)[\"']", hook_sources))
    assert {"aws_default", "mlflow_default", "mlops_audit"} <= defaults, "hook defaults not found"
    init = service_for("init")
    script = init_script()
    adds = init_connection_adds()
    assert defaults <= adds.keys(), f"airflow-init does not create {sorted(defaults - adds.keys())}"

    deleted = set(re.findall(r"connections delete\s+[\"']?(\w+)", script))
    for var, items, body in re.findall(r"for\s+(\w+)\s+in\s+([^;\n]+)[;\n]\s*do\b(.*?)\bdone", script, re.DOTALL):
        if re.search(rf"connections delete\s+\"?\$\{{?{var}\b", body):
            deleted |= set(items.split())
    assert defaults <= deleted, "re-running airflow-init fails: `connections add` refuses an existing id"

    env = service_env(init)
    mlflow = adds["mlflow_default"]
    assert shell_vars(mlflow.get("--conn-host", ""), env) == env["MLFLOW_TRACKING_URI"], (
        "mlflow_default's host must be the tracking server the tasks use"
    )
    aws = adds["aws_default"]
    extra = json.loads(shell_vars(aws.get("--conn-extra", "{}"), env))
    assert extra.get("endpoint_url") == env["MLOPS_S3_ENDPOINT_URL"], "aws_default must point at the S3 endpoint"
    assert extra.get("region_name")
    for option in ("--conn-login", "--conn-password"):
        value = shell_vars(aws.get(option, ""), env)
        assert value and not value.startswith("$"), f"aws_default {option} comes from an unset variable"


def test_internal_urls_point_at_services_and_their_ports():
    """http/postgres URLs in the environment and commands name a service and a port it listens on."""

    def listening(name: str) -> set[int]:
        svc = services()[name]
        found = set()
        for entry in svc.get("ports") or []:
            found.add(int(entry["target"]) if isinstance(entry, dict) else int(resolve(str(entry)).rsplit(":", 1)[-1]))
        text = command_text(svc) + " " + " ".join(strings((svc.get("healthcheck") or {}).get("test")))
        found |= {int(port) for port in re.findall(r"--port[\s=]+(\d+)", text)}
        found |= {int(port) for port in re.findall(r"localhost:(\d+)", text)}
        image = str(svc.get("image", ""))
        found |= {port for prefix, port in WELL_KNOWN_PORTS.items() if image.startswith(prefix)}
        return found

    checked = 0
    for name, svc in services().items():
        values = [*service_env(name).values(), resolve(command_text(svc))]
        for value in values:
            for url in re.findall(r"\b[a-z][a-z0-9+.-]*://[^\s\"',;]+", value):
                parts = urlsplit(url)
                if parts.scheme == "s3" or parts.hostname in LOCAL_HOSTS:
                    continue
                assert parts.hostname in services(), f"{name}: {url} names no service"
                if parts.port:
                    assert parts.port in listening(parts.hostname), f"{name}: nothing listens on {url}"
                checked += 1
    assert checked, "no internal URL found"


def test_airflow_init_creates_the_audit_connection_and_the_deploy_pool():
    """mlops_audit points at the audit database init.sql creates; the deploy pool has one slot."""
    env = service_env(service_for("init"))
    audit = {k: shell_vars(v, env) for k, v in init_connection_adds()["mlops_audit"].items()}
    assert audit["--conn-type"] == "postgres", "include/platform/audit.py needs conn type postgres (or sqlite)"
    postgres = audit["--conn-host"]
    assert postgres in services() and str(services()[postgres].get("image", "")).startswith("postgres:")
    assert audit.get("--conn-port", "5432") == "5432"
    sql = read("docker/postgres/init.sql")
    login, schema = audit["--conn-login"], audit["--conn-schema"]
    assert re.search(rf"CREATE\s+(?:ROLE|USER)\s+\"?{login}\"?\s+LOGIN", sql, re.I), f"init.sql does not create {login}"
    assert re.search(rf"CREATE\s+DATABASE\s+\"?{schema}\"?\s+OWNER\s+\"?{login}\b", sql, re.I), (
        f"init.sql does not create database {schema} owned by {login}"
    )
    assert schema not in ("airflow", "mlflow"), "the audit trail gets a database of its own"
    # Password: the connection's and the role's come from the same .env secret.
    psql_var = re.search(rf"CREATE\s+(?:ROLE|USER)\s+\"?{login}\"?[^;]*PASSWORD\s+:'(\w+)'", sql, re.I)
    assert psql_var, "the audit role's password must come from the environment (\\getenv)"
    role_env = dict(re.findall(r"\\getenv\s+(\w+)\s+(\w+)", sql))[psql_var.group(1)]
    conn_var = re.fullmatch(r"\$\{?(\w+)\}?", init_connection_adds()["mlops_audit"]["--conn-password"])
    assert conn_var, "the mlops_audit password must come from a variable"
    init_ref = refs_in(raw_env(service_for("init"))[conn_var.group(1)])
    role_ref = refs_in(raw_env(postgres)[role_env])
    assert [r.name for r in init_ref] == [r.name for r in role_ref], "connection and role passwords differ"

    # The pool promote_/rollback_ DAGs run in (plugins/mlops_airflow/dag_defaults.py), one slot.
    default_pool = re.search(r"MLOPS_DEPLOY_POOL\",\s*\"(\w+)\"", read("plugins/mlops_airflow/dag_defaults.py"))
    assert default_pool, "DEPLOY_POOL default not found"
    pool = re.search(r"airflow pools set\s+(\S+)\s+(\d+)", init_script())
    assert pool, "airflow-init does not create the deploy pool"
    assert pool.group(1) == default_pool.group(1) and pool.group(2) == "1", pool.groups()
    assert "MLOPS_DEPLOY_POOL" not in env, "the DAGs would look for another pool than the one created"


# == compose: Celery ==============================================================================
def celery_workers() -> list[str]:
    return [name for name, role in airflow_services().items() if role == "worker"]


def test_celery_executor_broker_and_result_backend_agree():
    """Every Airflow service (workers too) runs the CeleryExecutor with the redis service as broker
    and the Airflow metadata database as result backend, with the passwords those servers get."""
    redis = [name for name, svc in services().items() if str(svc.get("image", "")).startswith("redis:")]
    assert len(redis) == 1, f"one Redis service expected, found {redis}"
    redis_env = raw_env(redis[0])
    requirepass = re.search(r"--requirepass\s+\"?\$\$\{?(\w+)", command_text(services()[redis[0]]))
    assert requirepass, "the broker has no password"
    redis_secret = [r.name for r in refs_in(redis_env[requirepass.group(1)])]
    for name in airflow_services():
        env, raw = service_env(name), raw_env(name)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.scheme == "redis" and broker.hostname == redis[0], f"{name}: broker is not the redis service"
        assert broker.port in (None, 6379)
        # (not urlsplit: the `${VAR:?message}` of the raw value holds a `?`)
        userinfo = re.match(r"redis://([^@]*)@", raw["AIRFLOW__CELERY__BROKER_URL"])
        broker_password = userinfo.group(1).partition(":")[2] if userinfo else ""
        assert [r.name for r in refs_in(broker_password)] == redis_secret, f"{name}: broker password differs"
        backend = raw["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend.startswith("db+postgresql"), f"{name}: result backend must be the metadata DB (db+postgresql)"
        result, metadata = (
            parse_db_uri(backend.removeprefix("db+")),
            parse_db_uri(raw["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
        )
        for part in ("host", "user", "db", "password"):
            assert result[part] == metadata[part], f"{name}: result backend {part} differs from the metadata DB"
        assert (result["port"] or "5432") == (metadata["port"] or "5432")
    for name in (service_for("scheduler"), *celery_workers()):
        assert dependencies(services()[name]).get(redis[0]) == "service_healthy", f"{name} starts before the broker"
    check = " ".join(strings((services()[redis[0]].get("healthcheck") or {}).get("test")))
    assert "redis-cli" in check and "ping" in check and "REDISCLI_AUTH" in check, "healthcheck must ping with auth"


def test_celery_workers_scale_out():
    """One worker service that `docker compose up --scale airflow-worker=N` can replicate."""
    workers = celery_workers()
    assert len(workers) == 1, f"one worker service (scaled with --scale), found {workers}"
    name = workers[0]
    svc = services()[name]
    for key in ("container_name", "hostname", "ports"):
        assert not svc.get(key), f"{name} sets {key}: replicas would collide"
    assert not (svc.get("deploy") or {}).get("replicas"), "replicas come from --scale, not a fixed count"
    # The worker pings its own Celery node through the broker, as the official compose file does.
    check = " ".join(strings((svc.get("healthcheck") or {}).get("test")))
    assert check, f"{name} has no healthcheck"
    assert re.search(r"\bcelery\s+--app\s+airflow\.providers\.celery\.executors\.celery_executor\.app\b", check)
    assert re.search(r"\binspect\s+ping\s+-d\s+\"?celery@\$\$\{HOSTNAME\}", check), check
    assert service_env(name).get("DUMB_INIT_SETSID") == "0", "without it `docker compose stop` kills running tasks"
    # Tasks run here: they need the Execution API, MLflow, S3 and the connections from init.
    deps = dependencies(svc)
    assert deps.get(service_for("api-server")) == "service_healthy"
    assert deps.get(mlflow_service()) == "service_healthy"
    assert deps.get(service_for("init")) == "service_completed_successfully"
    concurrency = service_env(name).get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "16")
    assert concurrency.isdigit() and int(concurrency) >= 1
    # Nothing else may pin a host port range a replica would need, or address one replica.
    for other, other_svc in services().items():
        assert name not in " ".join(strings(other_svc.get("environment"))), f"{other} addresses one worker"


def test_airflow_version_has_one_source_of_truth():
    """requirements.txt pins apache-airflow; the constraints, the image and the docs follow it."""
    version = pins()["apache-airflow"]
    constraints = pins("constraints.txt")
    assert constraints.get("apache-airflow") == version and constraints.get("apache-airflow-core") == version
    for name, pinned in pins().items():
        assert constraints.get(name) == pinned, f"constraints.txt has {name}=={constraints.get(name)}, not {pinned}"
    assert "apache-airflow-providers-celery" in pins(), "the CeleryExecutor needs the celery provider pinned"
    # Every Airflow service runs the project image (built FROM the pinned version): none names an
    # upstream tag or takes the version from a variable that could drift.
    project_image = services()[service_for("scheduler")]["image"]
    for name in airflow_services():
        svc = services()[name]
        assert "build" in svc and svc["image"] == project_image, f"{name} does not run the project image"
    for key in env_example():
        assert not re.search(r"AIRFLOW_(VERSION|IMAGE)", key), f".env.example: {key} would be a second source"
    for rel in ("Dockerfile", "docker-compose.yaml", ".env.example", "docs/production.md", "README.md"):
        if (ROOT / rel).exists():
            for found in re.findall(r"apache/airflow:(\d+\.\d+\.\d+)", read(rel)):
                assert found == version, f"{rel} names apache/airflow:{found}, requirements.txt pins {version}"
            for found in re.findall(r"apache-airflow==(\d+\.\d+\.\d+)", read(rel)):
                assert found == version, f"{rel} names apache-airflow=={found}, requirements.txt pins {version}"


# == compose: MLflow, PostgreSQL, MinIO ===========================================================
def test_mlflow_server_has_the_client_version_and_a_postgres_driver():
    """The server runs the mlflow version the tasks use, with the driver its backend URI needs."""
    name = mlflow_service()
    svc = services()[name]
    env = raw_env(name)
    uri = env.get("MLFLOW_BACKEND_STORE_URI") or re.search(r"--backend-store-uri[\s=]+(\S+)", command_text(svc))[1]
    scheme = parse_db_uri(uri)["scheme"]
    assert scheme.startswith("postgresql"), "MLflow's backend store belongs on PostgreSQL"
    driver = scheme.partition("+")[2] or "psycopg2"
    packages = {"psycopg2": ("psycopg2", "psycopg2-binary"), "psycopg": ("psycopg",)}[driver]
    if "build" in svc:
        build = svc["build"] if isinstance(svc["build"], dict) else {"context": svc["build"]}
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", "MLflow must run from the project image"
        requirements = pins()
        assert "mlflow" in requirements, "the project image has no mlflow server"
        assert any(p in requirements for p in packages), f"the project image lacks {driver} for {scheme}"
        assert "boto3" in requirements, "the server stores artifacts on S3: boto3 needed"
    else:
        image = svc["image"]
        assert image.startswith("ghcr.io/mlflow/mlflow:"), f"unexpected MLflow image {image}"
        assert image_tag(image) == f"v{pins()['mlflow']}", "MLflow server and client versions differ"
        install = command_text(svc) + command_text(svc, "entrypoint")
        assert any(p in install for p in packages) and "boto3" in install, "the MLflow image lacks psycopg2/boto3"


def test_mlflow_backend_store_is_created_by_init_sql():
    name = mlflow_service()
    uri_raw = raw_env(name).get("MLFLOW_BACKEND_STORE_URI", "")
    uri = parse_db_uri(uri_raw)
    postgres = uri["host"]
    assert postgres in services() and str(services()[postgres].get("image", "")).startswith("postgres:")
    mounts = [v for v in services()[postgres].get("volumes") or [] if "docker-entrypoint-initdb.d" in v]
    assert any(m.startswith("./docker/postgres/init.sql:") for m in mounts), "init.sql is not mounted"
    sql = read("docker/postgres/init.sql")
    roles = set(re.findall(r"CREATE\s+(?:ROLE|USER)\s+\"?(\w+)\"?", sql, re.IGNORECASE))
    owners = dict(re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?\s+(?:WITH\s+)?OWNER\s*=?\s*\"?(\w+)", sql, re.I))
    assert uri["user"] in roles, f"init.sql does not create role {uri['user']}"
    assert owners.get(uri["db"]) == uri["user"], f"init.sql does not create database {uri['db']} owned by it"
    # The role's password: psql variable <- \getenv <- postgres env <- the same .env secret as the URI.
    psql_var = re.search(rf"CREATE\s+(?:ROLE|USER)\s+\"?{uri['user']}\"?[^;]*PASSWORD\s+:'(\w+)'", sql, re.I)
    assert psql_var, "the role's password must come from the environment (\\getenv), not the file"
    env_var = dict(re.findall(r"\\getenv\s+(\w+)\s+(\w+)", sql)).get(psql_var.group(1))
    assert env_var in raw_env(postgres), f"init.sql reads {env_var}, which the postgres service does not set"
    assert [r.name for r in refs_in(raw_env(postgres)[env_var])] == [r.name for r in refs_in(uri["password"])], (
        "MLflow connects with a different password than init.sql sets"
    )


def test_one_bucket_for_data_mlflow_artifacts_and_minio_init():
    buckets = {}
    for name in airflow_services():
        root = service_env(name)["MLOPS_DATA_ROOT"]
        assert root.startswith("s3://"), f"{name}: the compose stack keeps data on MinIO (s3://)"
        buckets[f"{name} MLOPS_DATA_ROOT"] = urlsplit(root).netloc
    mlflow_env = service_env(mlflow_service())
    buckets["mlflow artifacts"] = urlsplit(mlflow_env["MLFLOW_ARTIFACTS_DESTINATION"]).netloc
    creators = [name for name, svc in services().items() if re.search(r"\bmc\s+mb\b", " ".join(scripts(svc)))]
    assert len(creators) == 1, "one service must create the bucket with `mc mb`"
    script = " ".join(scripts(services()[creators[0]])).replace("$$", "$")
    made = re.search(r"\bmc\s+mb\b[^\n]*?\"?[\w-]+/\$\{?(\w+)\}?", script)
    assert made, "`mc mb <alias>/$BUCKET` not found"
    buckets["minio-init"] = service_env(creators[0])[made.group(1)]
    assert len(set(buckets.values())) == 1, f"different buckets: {buckets}"
    assert creators[0] in one_shot_services()
    assert dependencies(services()[mlflow_service()]).get(creators[0]) == "service_completed_successfully"


def test_mlflow_accepts_the_host_the_tasks_use():
    """MLflow >= 3.5 rejects unknown Host headers (DNS-rebinding protection): the compose name must pass."""
    tracking = urlsplit(service_env(service_for("scheduler"))["MLFLOW_TRACKING_URI"])
    assert tracking.hostname == mlflow_service(), "tasks must use the MLflow service"
    svc = services()[mlflow_service()]
    allowed = service_env(mlflow_service()).get("MLFLOW_SERVER_ALLOWED_HOSTS")
    from_cli = re.search(r"--allowed-hosts[\s=]+(\S+)", command_text(svc))
    allowed = from_cli.group(1) if from_cli else allowed
    assert allowed, "without allowed hosts MLflow accepts only localhost and private IPs, not the service name"
    patterns = [host.strip() for host in allowed.split(",")]
    assert any(fnmatch.fnmatch(tracking.netloc, p) or p == "*" for p in patterns), (
        f"{tracking.netloc} is not in MLflow's allowed hosts {patterns}"
    )
    assert "*" not in patterns


@pytest.mark.parametrize(
    "missing",
    [
        "POSTGRES_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "MLFLOW_ADMIN_PASSWORD",
        "MLFLOW_PIPELINE_PASSWORD",
        "MLFLOW_SERVER_SECRET_KEY",
    ],
)
def test_compose_refuses_to_start_without_a_secret(missing):
    """With a secret left empty (as in .env.example), interpolation fails instead of using a default."""
    env = filled_env()
    env[missing] = ""
    with pytest.raises(MissingVariableError):
        for value in strings(compose()):
            interpolate(value, env)


# == MLflow authentication =========================================================================
def bind_mounts(name: str) -> dict[str, str]:
    """container path -> host path (relative to the project) of a service's bind mounts."""
    mounts = {}
    for volume in services()[name].get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            mounts[target] = posixpath.normpath(source)
    return mounts


def named_volume_targets(name: str) -> list[str]:
    return [
        str(v).split(":")[1]
        for v in services()[name].get("volumes") or []
        if str(v).split(":")[0] in (compose().get("volumes") or {})
    ]


def host_file(name: str, container_path: str) -> Path:
    """The project file a service sees at ``container_path`` through a bind mount."""
    for target, source in bind_mounts(name).items():
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return ROOT / source / posixpath.relpath(container_path, target)
    raise AssertionError(f"{name}: nothing is mounted at {container_path}")


def auth_config() -> Any:
    import configparser

    name = mlflow_service()
    config = configparser.ConfigParser()
    path = host_file(name, raw_env(name)["MLFLOW_AUTH_CONFIG_PATH"])
    assert path.is_file(), f"MLFLOW_AUTH_CONFIG_PATH points at {path}, which does not exist"
    config.read(path)
    return config["mlflow"]


def mlflow_init_service() -> str:
    found = [name for name, svc in services().items() if "pipeline_account.py" in command_text(svc)]
    assert len(found) == 1, f"expected one service running docker/mlflow/pipeline_account.py, found {found}"
    return found[0]


def test_mlflow_server_runs_basic_auth():
    """Finding: anyone on the network could set @champion. The server runs MLflow's basic auth
    with the committed config; people get READ; the user store survives a restart."""
    name = mlflow_service()
    tokens = command_text(services()[name]).split()
    assert "--app-name" in tokens and tokens[tokens.index("--app-name") + 1] == "basic-auth", (
        "the MLflow server must run `--app-name basic-auth`: without it anyone can move aliases"
    )
    config = auth_config()
    assert config["default_permission"] == "READ", "people (every user but the pipeline) get READ only"
    assert "admin_password" not in config, "no password in the committed basic_auth.ini: it comes from .env"
    assert config.get("authorization_function", "").endswith(":authenticate_request_basic_auth")
    database = config["database_uri"]
    assert database.startswith("sqlite:////") and "@" not in database
    store_dir = posixpath.dirname(database.removeprefix("sqlite:///"))
    assert store_dir in named_volume_targets(name), f"MLflow's user store {database} must be on a named volume"
    assert f"mkdir -p {store_dir}" in " ".join(i.args for i in instructions("RUN")), (
        "the image must create the user store's mount point, so a new volume is owned by the server's user"
    )


def test_mlflow_auth_secrets_come_from_env_without_defaults():
    env = raw_env(mlflow_service())
    for key, secret in (
        ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_ADMIN_PASSWORD"),
        ("MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_SERVER_SECRET_KEY"),
    ):
        refs = refs_in(env.get(key, ""))
        assert [(r.name, r.op) for r in refs] == [(secret, ":?")], f"mlflow: {key} must be ${{{secret}:?...}}"
        assert env_example()[secret][0] == "", f".env.example must leave {secret} empty"
    assert service_env(mlflow_service())["MLFLOW_AUTH_ADMIN_USERNAME"], "the admin needs a user name"


def test_mlflow_init_creates_the_pipeline_account_the_tasks_use():
    """A one-shot service runs docker/mlflow/pipeline_account.py against the server, as its admin;
    airflow-init gives the same account to mlflow_default; the workers wait for it."""
    init = mlflow_init_service()
    svc = services()[init]
    script = next(t for t in command_text(svc).split() if t.endswith("pipeline_account.py"))
    assert host_file(init, script).resolve() == (ROOT / "docker/mlflow/pipeline_account.py").resolve()
    assert dependencies(svc).get(mlflow_service()) == "service_healthy"
    assert svc.get("restart") == "no"
    env, server = raw_env(init), raw_env(mlflow_service())
    for key in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"):
        assert refs_in(env[key]) == refs_in(server[key]), f"{init} must sign in as the admin the server creates"
    assert service_env(init)["MLFLOW_TRACKING_URI"] == service_env(service_for("worker"))["MLFLOW_TRACKING_URI"]
    resolved = service_env(init)
    assert resolved["MLFLOW_PIPELINE_USERNAME"] != resolved["MLFLOW_AUTH_ADMIN_USERNAME"], (
        "the pipeline must not run as the MLflow admin"
    )
    assert [(r.name, r.op) for r in refs_in(env["MLFLOW_PIPELINE_PASSWORD"])] == [("MLFLOW_PIPELINE_PASSWORD", ":?")]

    conn = init_connection_adds()["mlflow_default"]
    airflow_init_env = raw_env(service_for("init"))
    for option, key in (("--conn-login", "MLFLOW_PIPELINE_USERNAME"), ("--conn-password", "MLFLOW_PIPELINE_PASSWORD")):
        var = re.fullmatch(r"\$\{?(\w+)\}?", conn.get(option, ""))
        assert var, f"mlflow_default {option} must come from a variable"
        assert refs_in(airflow_init_env[var.group(1)]) == refs_in(env[key]), (
            f"mlflow_default {option} differs from the account {init} creates"
        )
    for worker in celery_workers():
        assert dependencies(services()[worker]).get(init) == "service_completed_successfully", (
            f"{worker} may run tasks before the pipeline's MLflow account exists"
        )


def test_image_installs_what_mlflow_basic_auth_needs():
    """`mlflow server --app-name basic-auth` imports Flask-WTF (mlflow's [auth] extra)."""
    requirements = read("requirements.txt")
    assert re.search(r"^mlflow\[[^\]]*\bauth\b[^\]]*\]==", requirements, re.M) or "flask-wtf" in pins(), (
        "requirements.txt must install mlflow[auth] (Flask-WTF)"
    )
    assert "flask-wtf" in pins("constraints.txt"), "constraints.txt must pin Flask-WTF"
    assert "requirements.txt" in [r for _, reqs, _ in dockerfile_pip_installs() for r in reqs]


# == compose: metrics (Pushgateway, statsd-exporter, Prometheus, Grafana) ===========================
def listens_on(name: str) -> set[int]:
    """Ports a service listens on: its published targets and `...listen...=:PORT` flags."""
    svc = services()[name]
    found = {
        int(e["target"]) if isinstance(e, dict) else int(resolve(str(e)).rsplit(":", 1)[-1])
        for e in svc.get("ports") or []
    }
    found |= {int(port) for port in re.findall(r"listen[\w.-]*=[\w.]*:(\d+)", resolve(command_text(svc)))}
    return found


def mounted(name: str, container_path: str) -> str | None:
    """The repository path mounted at ``container_path`` in service ``name`` (None: not a bind mount)."""
    for entry in services()[name].get("volumes") or []:
        source, _, rest = str(entry).partition(":")
        if rest.split(":", 1)[0] == container_path and source.startswith("./"):
            return source[2:]
    return None


def test_prometheus_scrapes_the_pushgateway_and_airflow_statsd_metrics():
    """prometheus.yml's targets are compose services on ports they listen on; the Pushgateway job
    keeps the pushed labels (honor_labels), and compose mounts this file where --config.file says."""
    (service,) = [n for n, s in services().items() if str(s.get("image", "")).startswith("prom/prometheus:")]
    config_path = re.search(r"--config\.file=(\S+)", command_text(services()[service]))
    assert config_path, f"{service}: no --config.file"
    config = yaml.safe_load(read(mounted(service, config_path.group(1)) or "missing"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t: name for name, job in jobs.items() for s in job["static_configs"] for t in s["targets"]}
    for target in targets:
        host, _, port = target.partition(":")
        assert host in services(), f"prometheus.yml scrapes {target}: no such compose service"
        assert int(port) in listens_on(host), f"prometheus.yml scrapes {target}: {host} does not listen there"
    pushgateways = [n for n, s in services().items() if str(s.get("image", "")).startswith("prom/pushgateway:")]
    exporters = [n for n, s in services().items() if str(s.get("image", "")).startswith("prom/statsd-exporter:")]
    assert len(pushgateways) == len(exporters) == 1
    scraped = {target.partition(":")[0]: targets[target] for target in targets}
    assert set(scraped) >= {pushgateways[0], exporters[0]}, "Prometheus must scrape the Pushgateway and statsd-exporter"
    assert jobs[scraped[pushgateways[0]]].get("honor_labels") is True, (
        "without honor_labels the pushed job label becomes exported_job and the dashboard finds nothing"
    )


def test_tasks_push_to_the_pushgateway_and_airflow_sends_statsd_to_the_exporter():
    (gateway,) = [n for n, s in services().items() if str(s.get("image", "")).startswith("prom/pushgateway:")]
    (exporter,) = [n for n, s in services().items() if str(s.get("image", "")).startswith("prom/statsd-exporter:")]
    udp = re.search(r"--statsd\.listen-udp=[\w.]*:(\d+)", command_text(services()[exporter]))
    assert udp, f"{exporter} must listen for StatsD over UDP"
    conn = init_connection_adds()["pushgateway_default"]
    assert conn.get("--conn-host") == gateway and int(conn.get("--conn-port", 0)) in listens_on(gateway), (
        f"pushgateway_default ({conn}) is not the {gateway} service: the tasks push nowhere"
    )
    for service in airflow_services():
        env = service_env(service)
        assert env.get("AIRFLOW__METRICS__STATSD_ON", "").lower() == "true", f"{service}: Airflow metrics off"
        assert env.get("AIRFLOW__METRICS__STATSD_HOST") == exporter
        assert env.get("AIRFLOW__METRICS__STATSD_PORT") == udp.group(1)


def test_grafana_is_provisioned_from_the_repository_without_a_default_password():
    (grafana,) = [n for n, s in services().items() if str(s.get("image", "")).startswith("grafana/grafana:")]
    env = raw_env(grafana)
    assert [(r.name, r.op) for r in refs_in(env["GF_SECURITY_ADMIN_PASSWORD"])] == [("GRAFANA_ADMIN_PASSWORD", ":?")]
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "false" and env.get("GF_USERS_ALLOW_SIGN_UP") == "false"
    assert env.get("GF_ANALYTICS_REPORTING_ENABLED") == "false", "Grafana must not report usage"
    provisioning = mounted(grafana, "/etc/grafana/provisioning")
    assert provisioning == "docker/grafana/provisioning"
    (datasource,) = yaml.safe_load(read(f"{provisioning}/datasources/prometheus.yaml"))["datasources"]
    url = urlsplit(datasource["url"])
    assert url.hostname in services() and url.port in listens_on(url.hostname), f"datasource {datasource['url']}"
    (provider,) = yaml.safe_load(read(f"{provisioning}/dashboards/mlops.yaml"))["providers"]
    dashboards = mounted(grafana, provider["options"]["path"])
    assert dashboards and (ROOT / dashboards / "model-health.json").is_file(), "the dashboard folder is not mounted"
    home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "")
    assert (
        home.startswith(provider["options"]["path"] + "/") and (ROOT / dashboards / posixpath.basename(home)).is_file()
    )
    dashboard = json.loads(read(f"{dashboards}/model-health.json"))
    uids = {
        (target.get("datasource") or panel.get("datasource") or {}).get("uid")
        for panel in dashboard["panels"]
        for target in panel.get("targets") or []
    }
    assert uids == {datasource["uid"]}, f"dashboard panels use datasources {uids}, provisioned: {datasource['uid']}"
