"""The README's example plugin, as the tests that run it read it."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
EXAMPLE_FILE = re.compile(r"```python\n# plugins/hello/(\w+)\.py\n(.*?)```", re.S)
ENTRY_POINT_BLOCK = re.compile(r"```ini\n# setup.cfg of a third-party plugin\n(.*?)```", re.S)


def example_files(package: str = "plugins.hello") -> dict[str, str]:
    """The example's modules by name (``views``, ``__init__``, ...), importing from ``package``."""
    return {
        name: f"# {package.replace('.', '/')}/{name}.py\n" + source.replace("plugins.hello", package)
        for name, source in EXAMPLE_FILE.findall(README)
    }


def entry_point_setup_cfg() -> str:
    """The setup.cfg lines the README gives a third-party plugin."""
    return ENTRY_POINT_BLOCK.search(README).group(1)
