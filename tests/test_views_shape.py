"""The views of applications and appeals stay thin: no function over 60 lines (#12)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 60


@pytest.mark.parametrize("module", ["applications/views.py", "appeals/views.py"])
def test_no_view_function_over_60_lines(module):
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    long = [f"{node.name}: {node.end_lineno - node.lineno + 1} lines" for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LIMIT]
    assert not long, long


@pytest.mark.parametrize("module", ["applications/views.py", "appeals/views.py"])
def test_htmx_through_django_htmx_not_hand_read_headers(module):
    text = (ROOT / module).read_text(encoding="utf-8")
    for hand_made in ('"HX-Request"', '"HX-Redirect"', '"HX-Push-Url"', '"HX-Trigger"', "HTTP_HX_"):
        assert hand_made not in text, hand_made
    # one partials convention: a page template's named partial ("app/page.html#name"), never a loose file
    assert "/partials/" not in text
