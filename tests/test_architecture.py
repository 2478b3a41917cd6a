"""The house rules that keep the code findable (shared/ARCHITECTURE.md), checked on the source.

- The apps sit in layers and import no cycle: `lint-imports` (pyproject.toml) checks it; this
  file runs it too, so `make test` fails when it does.
- No function-local import dodges a cycle: imports are at the top of a module. The one place
  Django needs them inside a function is an AppConfig's ready() (the models are loaded then).
- Markup is written in template files and escaped by Jinja2: no Python code declares a string
  safe (mark_safe, SafeString, Markup, format_html) and no template switches escaping off
  (|safe, autoescape false), so nothing reaches a page unescaped by accident.
- Who may see what is decided by the models' visible_to methods and the money rule
  (jobline/workspaces/viewers.py); views, template tags and templates only ask them. So none of
  them reads a visibility flag or a role to decide, and none calls the rule's Python copy.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jobline"


def python_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_lint_imports_keeps_the_layers_and_finds_no_cycle() -> None:
    command = shutil.which("lint-imports") or str(
        Path(__file__).parents[1] / ".venv/bin/lint-imports"
    )
    result = subprocess.run(
        [command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _function_local_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node: ast.AST, inside: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                allowed = inside == "ready" and path.name == "apps.py"
                if inside is not None and not allowed:
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno} in {inside}()")
            else:
                visit(child, inside)

    visit(tree, None)
    return found


def test_no_function_local_imports() -> None:
    found = [hit for path in python_files() for hit in _function_local_imports(path)]
    assert not found, "imports inside functions (move them to the top): " + ", ".join(found)


def test_the_check_finds_a_function_local_import(tmp_path: Path) -> None:
    """The control: the scan above does see an import inside a function."""
    sample = PACKAGE / "core" / "_architecture_probe.py"
    sample.write_text("def f() -> None:\n    import os  # noqa\n")
    try:
        assert _function_local_imports(sample) == ["jobline/core/_architecture_probe.py:2 in f()"]
    finally:
        sample.unlink()


# Views, template tags and templates must not decide who sees what. The pipeline editor and
# the members page are where the flags and roles are set, so they show them; nothing else
# reads them.
EDITORS_OF_THE_SETTINGS = (
    "jobline/pipelines/",
    "jobline/workspaces/jinja2/workspaces/settings_",
)
DECIDING = [
    (re.compile(r"visible_to_customer"), "reads the customer-visibility flag"),
    (re.compile(r"\.visibility\s*(==|!=|in\b)|visibility\s*==\s*['\"]"), "compares a visibility"),
    (re.compile(r"\.role\b|can_see_money|MONEY_ROLES"), "reads a role to decide"),
    (re.compile(r"\bsees_money\s*\("), "asks the money rule itself (templates get it done)"),
]


def deciding_files() -> list[Path]:
    views = [
        p
        for p in python_files()
        if p.name == "views.py"
        or p.name.endswith("_views.py")
        or "views" in p.parent.name
        or "templatetags" in p.parts
    ]
    templates = sorted(
        p
        for p in PACKAGE.rglob("*")
        if p.suffix in {".html", ".txt"} and ("templates" in p.parts or "jinja2" in p.parts)
    )
    return [
        p
        for p in [*views, *templates]
        if not str(p.relative_to(ROOT)).startswith(EDITORS_OF_THE_SETTINGS)
    ]


def test_views_tags_and_templates_do_not_decide_visibility() -> None:
    found = []
    for path in deciding_files():
        relative = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for pattern, what in DECIDING:
                if pattern.search(line):
                    found.append(f"{relative}:{number} {what}: {line.strip()[:90]}")
    assert not found, "decide visibility in the models' visible_to, not here:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "{% if stage.visible_to_customer %}",
        "if message.visibility == 'internal':",
        "if request.membership.role == 'staff':",
    ],
)
def test_the_visibility_lint_catches_a_decision(line: str) -> None:
    """The control: each of those lines would be reported."""
    assert any(pattern.search(line) for pattern, _what in DECIDING)


UNESCAPING = [
    (re.compile(r"\bmark_safe\b|\bSafeString\b|\bSafeText\b"), "declares a string safe"),
    (re.compile(r"\bMarkup\s*\(|\bformat_html(_join)?\b"), "builds markup in Python"),
    (re.compile(r"\|\s*safe\b|autoescape\s+false|autoescape\s+off"), "switches escaping off"),
]


def markup_files() -> list[Path]:
    templates = [p for p in PACKAGE.rglob("*") if p.suffix in {".html", ".txt"}]
    return sorted([*python_files(), *templates])


def test_no_markup_is_declared_safe_outside_the_templates() -> None:
    found = []
    for path in markup_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for pattern, what in UNESCAPING:
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number} {what}: {line.strip()[:90]}")
    assert not found, "write markup in a template, escaped:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "return mark_safe(html)",
        'format_html_join("", "<li>{}</li>", rows)',
        "return Markup(f'<b>{name}</b>')",
        "{{ note.body|safe }}",
        "{% autoescape false %}",
    ],
)
def test_the_markup_lint_catches_unescaped_markup(line: str) -> None:
    """The control: each of those lines would be reported."""
    assert any(pattern.search(line) for pattern, _what in UNESCAPING)
