"""One API in every runtime: `paywire` exports every name @paywire/wasm and @paywire/node do,
in snake_case (classes keep their names), and the README's runtime-parity table lists them in
its Python column."""

from __future__ import annotations

import re
from pathlib import Path

import paywire

ROOT = Path(__file__).resolve().parents[2]


def snake(name: str) -> str:
    if name[:1].isupper():
        return name  # a class
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("eip712", "eip712")


def table() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Runtime parity"):readme.index("## Performance")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith(("| ---", "| concept"))]
    assert len(rows) >= 9
    return [row.split("|") for row in rows]


def test_every_core_export_of_the_javascript_engines_exists_in_python() -> None:
    for cells in table():
        for name in re.findall(r"`(\w+)`", cells[3]):  # the wasm column
            if name in ("wrapFetch", "paywall", "wrapMcpClient", "mcpPaywall"):
                continue  # the host layer: Python has its own (paywire.httpx, paywire.asgi, paywire.mcp)
            assert hasattr(paywire, snake(name)), f"{name} ({snake(name)}) is missing from paywire"


def test_the_readme_python_column_names_real_exports() -> None:
    listed = set()
    for cells in table():
        assert len(cells) >= 7, "the table has a Python column"
        for name in re.findall(r"`([\w.]+)`", cells[5]):
            module, _, attribute = name.rpartition(".")
            target = __import__(f"paywire.{module.removeprefix('paywire.')}", fromlist=["_"]) if module else paywire
            assert hasattr(target, attribute), f"the README lists {name}, which paywire does not export"
            listed.add(name)
    core_names = {n for n in paywire.__all__ if not n.endswith(("Error", "Signer", "Store", "Uses")) and n not in ("Signer",)}
    assert core_names <= listed, f"exported but not in the README: {sorted(core_names - listed)}"
