from pathlib import Path

import pytest

from tests.media.clips import gradient_clip


@pytest.fixture(scope="session")
def clip_720p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    return gradient_clip(folder / "720p.mp4", width=1280, height=720)


@pytest.fixture(scope="session")
def clip_480p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    return gradient_clip(folder / "480p.mp4", width=854, height=480)
