"""How long the worker takes to make a clip's poster and preview, against decoding the
same clip once with PyAV, measured in the same run.

A finished video job stores its clip, then makes a poster frame (WebP, ≤ 1024 px) and a
small preview (H.264, ≤ 480 px wide, ≤ 24 fps) once, in the worker. Making the preview
means decoding every frame, scaling it and encoding it again, so its cost is best read
as a multiple of the decode alone. This script makes a 720p, 5 s, 24 fps H.264 clip (a
moving gradient, as in the tests), then times, RUNS times each (median, fastest and
slowest):

- baseline: decoding every frame of the clip once (with the same frame threading the
  helpers use, so the ratio counts only their own work);
- the poster alone (decodes half a second);
- the preview alone;
- poster + preview, what the worker does per clip.

Run: .venv/bin/python bench/video_poster.py [RUNS]
"""

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import av

from studio.media.video import clip_facts, poster_frame, preview_clip
from tests.media.clips import gradient_clip

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7


def decode_once(path: Path) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass


def timed(work: Callable[[], object]) -> list[float]:
    work()  # warm up (codec set-up, file cache)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as folder:
        clip = gradient_clip(Path(folder) / "720p.mp4", width=1280, height=720)
        facts = clip_facts(clip)
        preview = clip_facts(preview_clip(clip))
        cases = [
            ("baseline: decode once", lambda: decode_once(clip)),
            ("poster", lambda: poster_frame(clip)),
            ("preview", lambda: preview_clip(clip)),
            ("poster + preview", lambda: (poster_frame(clip), preview_clip(clip))),
        ]
        results = [(label, timed(work)) for label, work in cases]
        size = clip.stat().st_size

    baseline = statistics.median(results[0][1])
    print(
        f"clip: {facts.width}×{facts.height}, {facts.seconds:.1f} s, {facts.fps:.0f} fps, "
        f"{size / 1024:.0f} KiB  preview: {preview.width}×{preview.height}, "
        f"{preview.seconds:.1f} s, {preview.fps:.0f} fps  runs per case: {RUNS}  "
        f"cpus: {os.cpu_count()}  PyAV {av.__version__}"
    )
    print(f"{'case':<24}{'median ms':>11}{'fastest':>9}{'slowest':>9}{'× decode':>10}")
    for label, times in results:
        median = statistics.median(times)
        print(
            f"{label:<24}{median * 1000:>11.0f}{min(times) * 1000:>9.0f}"
            f"{max(times) * 1000:>9.0f}{median / baseline:>10.2f}"
        )


if __name__ == "__main__":
    main()
