"""Fixtures shared by the web tests; each module brings its own ``client`` (app and data)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from web.rendering import Rendered, Renderer


@pytest.fixture
def renders(client: TestClient) -> Iterator[list[Rendered]]:
    """Every render during the test, as the renderer's listeners see it."""
    renderer: Renderer = client.app.state.renderer  # type: ignore[attr-defined]
    seen: list[Rendered] = []
    renderer.listeners.append(seen.append)
    yield seen
    renderer.listeners.remove(seen.append)
