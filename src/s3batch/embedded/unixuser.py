"""Run a server as an unprivileged system user when s3batch itself runs as root.

PostgreSQL refuses to run as root. As root, s3batch creates (once) a system user of its
own and hands it the server's files. Where the server's programs sit below a directory
that user cannot traverse (a virtualenv under ``/root``, a CI checkout in a private temp
dir), it is let through: with a POSIX ACL entry for that one user (search only, no
listing), or on a file system without ACLs with the search bit for others.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from s3batch.errors import ConfigError

logger = logging.getLogger(__name__)

#: The system user embedded servers run as when s3batch runs as root.
SYSTEM_USER = "s3batch-pg"

_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_UNDEFINED_ID = 0xFFFFFFFF
_SEARCH = 1
_ENTRY = struct.Struct("<HHI")


@dataclass(frozen=True)
class RunAs:
    """The user a child process runs as: None fields mean "the current user"."""

    name: str | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def switches(self) -> bool:
        """Whether processes change user (s3batch runs as root)."""
        return self.uid is not None

    @property
    def extra_groups(self) -> list[int] | None:
        """Supplementary groups for ``subprocess``: none when switching user."""
        return [] if self.uid is not None else None

    def give(self, path: Path, tree: bool = False) -> None:
        """Make this user the owner of ``path`` (with ``tree``, of all it holds as well).

        A tree whose top already belongs to the user is taken to be wholly theirs.
        """
        if self.uid is None or self.gid is None or self._owns(path):
            return
        for item in [path, *path.rglob("*")] if tree else [path]:
            os.chown(item, self.uid, self.gid, follow_symlinks=False)

    def _owns(self, path: Path) -> bool:
        info = path.lstat()
        return (info.st_uid, info.st_gid) == (self.uid, self.gid)

    def allow_traversal(self, *paths: Path) -> None:
        """Let this user reach ``paths``: grant search on every ancestor that denies it."""
        if not self.switches:
            return
        for path in paths:
            granted: set[Path] = set()
            while (blocked := self._first_blocked(path)) is not None:
                if blocked in granted:
                    raise ConfigError(f"cannot let user {self.name} traverse {blocked}")
                _grant_search(blocked, self)
                granted.add(blocked)

    def _first_blocked(self, path: Path) -> Path | None:
        ancestors = [*reversed(path.parents), path]
        script = 'for d do [ -x "$d" ] || { printf "%s" "$d"; exit 0; }; done'
        result = subprocess.run(
            ["/bin/sh", "-c", script, "sh", *map(str, ancestors)],
            capture_output=True,
            check=True,
            cwd="/",
            user=self.uid,
            group=self.gid,
            extra_groups=self.extra_groups,
        )
        return Path(result.stdout.decode()) if result.stdout else None


def current() -> RunAs:
    """Who embedded servers run as here: the system user as root, else the current user."""
    if os.geteuid() != 0:
        return RunAs()
    return system_user(SYSTEM_USER)


def system_user(name: str) -> RunAs:
    """The system user ``name``, created (with its own group, no home, no shell) if missing.

    Raises:
        ConfigError: it does not exist and cannot be created.
    """
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _create_user(name)
        entry = pwd.getpwnam(name)
    return RunAs(name, entry.pw_uid, entry.pw_gid)


def _create_user(name: str) -> None:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    command = [
        useradd,
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
    ]
    command += ["--shell", "/usr/sbin/nologin", name]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigError(f"cannot create the system user {name}: {exc}") from exc
    if done.returncode != 0 and not _exists(name):  # another process may have just made it
        raise ConfigError(f"cannot create the system user {name}: {done.stderr.strip()}")
    logger.info("created system user %s", name, extra={"action": "create_user"})


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# -- POSIX ACLs as the kernel stores them: a version word, then (tag, perm, id) entries ------


def _grant_search(path: Path, user: RunAs) -> None:
    assert user.uid is not None
    try:
        os.setxattr(path, _ACL_XATTR, _with_search(path, user.uid))
        how = "ACL entry"
    except OSError:
        path.chmod(stat.S_IMODE(path.stat().st_mode) | stat.S_IXOTH)
        how = "search bit for others"
    logger.info(
        "let %s traverse %s (%s)", user.name, path, how, extra={"action": "grant_traversal"}
    )


def _with_search(path: Path, uid: int) -> bytes:
    """The access ACL of ``path`` plus search for ``uid`` (and in the mask), encoded."""
    entries = _read_acl(path)
    perms = {(tag, eid): perm for tag, perm, eid in entries}
    perms[(_USER, uid)] = perms.get((_USER, uid), 0) | _SEARCH
    # The mask caps every named entry; without one, start from the owning group's bits.
    mask = perms.get((_MASK, _UNDEFINED_ID), perms[(_GROUP_OBJ, _UNDEFINED_ID)])
    perms[(_MASK, _UNDEFINED_ID)] = mask | _SEARCH
    body = b"".join(_ENTRY.pack(tag, perm, eid) for (tag, eid), perm in sorted(perms.items()))
    return struct.pack("<I", _ACL_VERSION) + body


def _read_acl(path: Path) -> list[tuple[int, int, int]]:
    try:
        raw = os.getxattr(path, _ACL_XATTR)
    except OSError:
        raw = b""
    if len(raw) >= 4 and struct.unpack_from("<I", raw)[0] == _ACL_VERSION:
        return [_ENTRY.unpack_from(raw, at) for at in range(4, len(raw) - 7, _ENTRY.size)]
    mode = stat.S_IMODE(path.stat().st_mode)
    return [
        (_USER_OBJ, (mode >> 6) & 7, _UNDEFINED_ID),
        (_GROUP_OBJ, (mode >> 3) & 7, _UNDEFINED_ID),
        (_OTHER, mode & 7, _UNDEFINED_ID),
    ]
