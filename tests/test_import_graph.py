"""No import circle anywhere in the portal: every module of app/ and plugins/ is read with ast,
every import counted (function-local ones included), and the module graph must have no cycle,
not even through the imports under ``if TYPE_CHECKING:`` that only name types. The reader itself is tried on small trees first: a circle
hidden in a function, a circle through ``from package import module``, and a TYPE_CHECKING
import that is rightly left out."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.import_graph import build_graph, describe_circles, strongly_connected

ROOT = Path(__file__).resolve().parent.parent
PORTAL_PACKAGES = ("app", "plugins")


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_the_portal_has_no_import_circle():
    graph = build_graph(ROOT, PORTAL_PACKAGES)
    assert len(graph) > 150  # the whole portal was read, not an empty folder
    assert "plugins.security.threats.pipeline" in graph["plugins.security.hooks"]
    circles = describe_circles(graph)
    assert not circles, "import circles (move the shared names to a leaf module):\n" + "\n".join(circles)


def test_the_portal_has_no_import_circle_through_type_names_either():
    # A state module naming its parts' classes while those modules read the state is a circle
    # for whoever changes them, though none of it runs: the parts' classes live in a leaf module.
    graph = build_graph(ROOT, PORTAL_PACKAGES, type_checking=True)
    assert "plugins.security.state_parts" in graph["plugins.security.state"]  # type imports were read
    circles = describe_circles(graph)
    assert not circles, "import circles through type names (move the types to a leaf module):\n" + "\n".join(
        circles
    )


def test_a_circle_hidden_in_a_function_is_found(tmp_path):
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/alerts.py": "from pkg.detect import SOURCE\n",
            "pkg/detect.py": """
                SOURCE = "threats"

                def later():
                    from pkg.alerts import record  # function-local: still a dependency
            """,
        },
    )
    graph = build_graph(root, ("pkg",))
    assert strongly_connected(graph) == [["pkg.alerts", "pkg.detect"]]
    (line,) = describe_circles(graph)
    assert line.startswith("pkg.alerts -> pkg.detect -> pkg.alerts")


def test_from_package_import_module_is_an_import_of_the_module(tmp_path):
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a  # noqa\n",  # a package importing its parts: no circle
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "from . import c\n",
            "pkg/c.py": "import pkg.a as again\n",
        },
    )
    graph = build_graph(root, ("pkg",))
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == {"pkg.c"}
    assert graph["pkg.c"] == {"pkg.a"}
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_name_from_a_package_is_an_import_of_the_package(tmp_path):
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.views import page\nbp = object()\n",
            "pkg/views.py": "from pkg import bp\n\ndef page():\n    return bp\n",
        },
    )
    graph = build_graph(root, ("pkg",))
    assert strongly_connected(graph) == [["pkg", "pkg.views"]]


def test_imports_for_type_checking_only_are_left_out(tmp_path):
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": """
                import typing
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from pkg.a import Shape
                if typing.TYPE_CHECKING:
                    import pkg.a
                else:
                    from pkg import c
                thing = 1
            """,
            "pkg/c.py": "",
        },
    )
    graph = build_graph(root, ("pkg",))
    assert graph["pkg.b"] == {"pkg.c"}  # the else branch runs, so it counts
    assert strongly_connected(graph) == []
    # asked for, the type-only imports count: b names a's types while a imports b
    with_types = build_graph(root, ("pkg",), type_checking=True)
    assert with_types["pkg.b"] == {"pkg.a", "pkg.c"}
    assert strongly_connected(with_types) == [["pkg.a", "pkg.b"]]
