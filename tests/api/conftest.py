from typing import Any

import pytest

from studio.api.services import NewToken, token_create


@pytest.fixture
def bobs_token(project: Any, bob: Any) -> NewToken:
    """Bob's personal access token for Acme's project."""
    return token_create(user=bob, project=project, name="render farm")
