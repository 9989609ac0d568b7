"""MkDocs hooks: the site shows the README's and the model cards' own text, never a copy.

The README's recipe and results sections are the truth about the method and its numbers,
and each bundled model's card is written by the script that derives its circuits. A docs
page that copied them would drift; instead a page names what it shows:

    <!-- include: README.md#the-recipe -->                       one section, by its heading's slug
    <!-- include: README.md#intro -->                            the text between the title and the first section
    <!-- include: sae_circuits_widget/organism/weights/MODEL_CARD.md shift=1 -->   a whole file
    <!-- include-all: sae_circuits_widget/organism/**/MODEL_CARD.md shift=1 -->    every file a glob finds

A section runs from its heading to the next heading of the same or a higher level (fenced
code is skipped); ``shift=N`` pushes every heading N levels down. Paths are relative to
the repository root.

Links in included text are written for GitHub, relative to the file they are in; they are
rewritten for the page that shows them: to a page of the site when the target is shown
on one (``#choosing-the-default`` goes to the page that includes that section; a model
card goes to the models page), to the file in ``docs/`` (``docs/roc.svg``), or else to a
copy of the repository file published under ``repository/`` (a benchmark's recorded
output), so that no link leaves the site and ``mkdocs build --strict`` sees no broken one.

The notebooks live in ``notebooks/`` at the top of the repository; ``on_files`` adds
them to the site as ``notebooks/<name>.ipynb`` before mkdocs-jupyter renders them (from
their stored outputs; it does not execute them).
"""

from __future__ import annotations

import glob
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from markdown.extensions.toc import slugify
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = "notebooks"
REPOSITORY_COPIES = "repository"
"""Where repository files that included text links to are published in the site."""

DIRECTIVE = re.compile(r"^<!--\s*include(?P<all>-all)?:\s*(?P<target>\S+)(?P<options>[^>]*?)\s*-->\s*$", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")


class IncludeError(Exception):
    """A directive names a file or section that does not exist (the build stops)."""


@dataclass(frozen=True)
class Included:
    """One file (or a section of it) that a page shows."""

    path: str  # repository-relative, posix
    section: Optional[str]
    shift: int
    text: str
    slugs: tuple[str, ...]  # slugs of every heading in ``text`` (before any shift)


def _slug(title: str) -> str:
    return slugify(re.sub(r"[`*_]", "", title), "-")


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading outside fenced code."""
    found, fenced = [], False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            found.append((i, len(m.group(1)), m.group(2)))
    return found


def extract(path: str, section: Optional[str]) -> str:
    """The text of ``path`` (repository-relative), or of one section of it."""
    file = ROOT / path
    if not file.is_file():
        raise IncludeError(f"include: no such file {path!r} (paths are relative to the repository root)")
    lines = file.read_text(encoding="utf-8").splitlines()
    if section is None:
        return "\n".join(lines)
    heads = _headings(lines)
    if section == "intro":
        start = heads[0][0] + 1 if heads and heads[0][1] == 1 else 0
        stop = next((i for i, level, _ in heads if level >= 2 and i >= start), len(lines))
        return "\n".join(lines[start:stop]).strip("\n")
    for n, (i, level, title) in enumerate(heads):
        if _slug(title) == section:
            stop = next((j for j, lv, _ in heads[n + 1:] if lv <= level), len(lines))
            return "\n".join(lines[i:stop]).strip("\n")
    known = ", ".join(_slug(t) for _, lv, t in heads if lv == 2)
    raise IncludeError(f"include: {path} has no section {section!r}; its sections: {known}")


def _shift_headings(text: str, shift: int) -> str:
    if not shift:
        return text
    lines = text.splitlines()
    for i, _, _ in _headings(lines):
        lines[i] = "#" * shift + lines[i]
    return "\n".join(lines)


def _options(raw: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in raw.split() if "=" in item)


def resolve(match: re.Match) -> list[Included]:
    """The files (sections) one directive includes, in order."""
    target, options = match.group("target"), _options(match.group("options") or "")
    shift = int(options.get("shift", "0"))
    path, _, section = target.partition("#")
    if match.group("all"):
        paths = sorted(Path(p).relative_to(ROOT).as_posix() for p in glob.glob(str(ROOT / path), recursive=True))
        if not paths:
            raise IncludeError(f"include-all: nothing matches {path!r}")
    else:
        paths = [path]
    out = []
    for p in paths:
        text = extract(p, section or None)
        slugs = tuple(_slug(t) for _, _, t in _headings(text.splitlines()))
        out.append(Included(p, section or None, shift, text, slugs))
    return out


# ----------------------------------------------------------------------------- site state

_shown_on: dict[tuple[str, str], str] = {}
"""(repository path, heading slug) -> the page (src_uri) that shows that heading."""
_file_page: dict[str, str] = {}
"""Repository path of a wholly included file -> the page that shows it."""
_copies: set[str] = set()
"""Repository files published under REPOSITORY_COPIES."""


def _link_target(target: str, source: str, page: str, docs_dir: Path) -> Optional[str]:
    """Where a link written in ``source`` (a repository file) should point from ``page``;
    ``None`` to drop the link and keep its text."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, ...
        return target
    here = posixpath.dirname(page)
    path, _, anchor = target.partition("#")
    if not path:  # an anchor in the same file
        shown = _shown_on.get((source, anchor))
        if shown is None:
            return None
        return f"#{anchor}" if shown == page else f"{posixpath.relpath(shown, here)}#{anchor}"
    repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    suffix = f"#{anchor}" if anchor else ""
    docs_rel = Path(docs_dir).resolve().relative_to(ROOT).as_posix()
    if repo_path.startswith(docs_rel + "/"):
        return posixpath.relpath(repo_path[len(docs_rel) + 1:], here) + suffix
    if repo_path in _file_page:
        return posixpath.relpath(_file_page[repo_path], here) + suffix
    if (ROOT / repo_path).is_file():
        _copies.add(repo_path)
        return posixpath.relpath(f"{REPOSITORY_COPIES}/{repo_path}", here) + suffix
    return None


def _rewrite_links(text: str, source: str, page: str, docs_dir: Path) -> str:
    def one(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        new = _link_target(target, source, page, docs_dir)
        if new is None:
            return label[1:-1] if not label.startswith("!") else ""
        return f"{label}({new})"

    lines, fenced = text.splitlines(), False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines[i] = LINK.sub(one, line)
    return "\n".join(lines)


def expand(markdown: str, page: str, docs_dir: Path) -> str:
    """``markdown`` with every include directive replaced by the text it names."""

    def one(match: re.Match) -> str:
        parts = []
        for inc in resolve(match):
            body = _rewrite_links(inc.text, inc.path, page, docs_dir)
            parts.append(_shift_headings(body, inc.shift))
        return "\n\n".join(parts)

    return DIRECTIVE.sub(one, markdown)


# ----------------------------------------------------------------------------- hooks


@event_priority(100)  # before mkdocs-jupyter, which wraps the notebooks this adds
def on_files(files: Files, config: Any) -> Files:
    _shown_on.clear()
    _file_page.clear()
    _copies.clear()
    docs_dir = Path(config["docs_dir"])
    pages = [f for f in files if f.src_uri.endswith(".md") and f.abs_src_path]
    for f in pages:
        text = Path(f.abs_src_path).read_text(encoding="utf-8")
        for match in DIRECTIVE.finditer(text):
            for inc in resolve(match):
                if inc.section is None:
                    _file_page.setdefault(inc.path, f.src_uri)
                for slug in inc.slugs + ((inc.section,) if inc.section else ()):
                    _shown_on.setdefault((inc.path, slug), f.src_uri)
    for f in pages:  # a dry run finds the repository files the included text links to
        expand(Path(f.abs_src_path).read_text(encoding="utf-8"), f.src_uri, docs_dir)
    for path in sorted(_copies):
        files.append(File.generated(config, f"{REPOSITORY_COPIES}/{path}", abs_src_path=str(ROOT / path)))
    for nb in sorted((ROOT / NOTEBOOK_DIR).glob("*.ipynb")):
        # a File read from the repository root (not a generated one): mkdocs-jupyter wraps
        # it and reads it through its source folder
        files.append(File(f"{NOTEBOOK_DIR}/{nb.name}", str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return expand(markdown, page.file.src_uri, Path(config["docs_dir"]))
