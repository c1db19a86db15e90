"""Stored scaffold versions: every run keeps the exact scaffold it used, content-addressed.

``data/scaffolds/<id>@<hash8>/`` holds one version in folder form. ``--scaffold`` accepts a
built-in id (``crafter-v0``), a folder holding scaffold.yaml, or a stored version (``id@hash8``).
"""

from __future__ import annotations

from pathlib import Path

from automem_core.scaffold.folder import BUILTIN_DIR, builtin_ids, load_scaffold, write_scaffold
from automem_core.scaffold.value import Scaffold, ScaffoldError
from automem_core.store.remote import publish_tree


def versions_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "scaffolds"


def store_version(scaffold: Scaffold, data_dir: Path) -> Path:
    """Keep ``scaffold`` under ``data/scaffolds/<version>/`` (once; versions never change)."""
    folder = versions_dir(data_dir) / scaffold.version
    if not (folder / "scaffold.yaml").is_file():
        write_scaffold(scaffold, folder)
        publish_tree(data_dir, folder)  # a store on object storage keeps it too
    return folder


def load_version(data_dir: Path, version: str) -> Scaffold:
    """The stored version ``id@hash8``; its content must still hash to that name."""
    folder = versions_dir(data_dir) / version
    if "/" in version or ".." in version or not (folder / "scaffold.yaml").is_file():
        raise ScaffoldError(
            f"scaffold version {version!r} is not stored in {versions_dir(data_dir)}; "
            "list them with `automem versions`"
        )
    scaffold = load_scaffold(folder)
    if scaffold.version != version:
        raise ScaffoldError(
            f"scaffold version {version!r} was edited after it was stored (it is now "
            f"{scaffold.version}); copy it to a folder of its own to change it"
        )
    return scaffold


def stored_versions(data_dir: Path) -> list[str]:
    folder = versions_dir(data_dir)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "scaffold.yaml").is_file())


def resolve_scaffold(name: str | None, game: str, data_dir: Path | None = None) -> Scaffold:
    """A scaffold by built-in id, stored version ``id@hash8``, or folder; ``None`` means the
    game's built-in ``<game>-v0``."""
    name = name or f"{game}-v0"
    if "@" in name and data_dir is not None and not Path(name).is_dir():
        scaffold = load_version(data_dir, name)
    elif (Path(name) / "scaffold.yaml").is_file():
        scaffold = load_scaffold(Path(name))
    elif "/" not in name and (BUILTIN_DIR / name / "scaffold.yaml").is_file():
        scaffold = load_scaffold(BUILTIN_DIR / name)
    else:
        raise ScaffoldError(
            f"scaffold {name!r} not found (built-ins: {', '.join(builtin_ids())}); give a "
            "folder holding scaffold.yaml or a stored version id@hash8"
        )
    if scaffold.game != game:
        raise ScaffoldError(
            f"scaffold {scaffold.version} is for {scaffold.game}, not {game}; pick a {game} one"
        )
    return scaffold
