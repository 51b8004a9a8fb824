"""The sandbox's video clips (LegNext's video-diffusion, extend-video and video-upscale):
H.264 mp4s at signed URLs, like its images. A clip is a slow zoom or pan over a still
image, 24 frames a second; what a clip is comes from its task and its origins (see
clips_for), like a picture's recipe, so nothing is stored but the tasks.

A clip is rendered when its URL is first fetched (as the images are), streamed frame by
frame into a file under MEDIA_ROOT, and served from that file afterwards: the bytes
behind a URL never change. Rendering is deterministic: the same request gives the same
bytes.

The motion is a camera over the image: a zoom (the log of how far in, growing at a
constant rate) and where the view sits in the room the zoom leaves (0 to 1 on each
axis, moving at a constant rate, held at the edges). A clip is a list of segments, each
with its own rates; an extension adds a 4 s segment that starts where the clip ended,
so the motion goes on without a jump.

A clip with an end image (``--end <url>``) crossfades from the camera's view into the
whole end image over the last END_FADE_SECONDS of its first segment, so that its last
frame is the end image; an extension of it goes on with the camera over the end image.
"""

import io
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
from django.conf import settings
from django.urls import reverse
from PIL import Image

from studio.sandbox import images, pictures
from studio.sandbox.pictures import Picture

FPS = 24
FIRST_SECONDS = 5
EXTENSION_SECONDS = 4
MAX_EXTENSIONS = 4
CLIP_COUNT = 4
CLIP_NAMES = tuple(str(number) for number in range(CLIP_COUNT))
# The short side of each resolution; the long side keeps the source image's shape.
SHORT_SIDES = {"480p": 480, "720p": 720}
# How far in the camera starts, leaving room to pan from the first frame.
START_ZOOM = 1.15
# (log-zoom per second, share of the pan room per second) for each motion setting.
SPEEDS = {"low": (0.03, 0.06), "high": (0.08, 0.1)}
# Each of the four clips a video-diffusion makes takes its own path: (how much of the
# zoom speed, pan direction x, pan direction y).
PATHS = ((1.0, 0.0, 0.0), (0.3, 1.0, 0.0), (0.3, 0.0, 1.0), (0.3, -1.0, -0.5))
# Each of the four clips an extension makes goes on its own way: a drift added to the
# source clip's pan (the first goes straight on).
DRIFTS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0))
# How long a clip with an end image takes to fade into it.
END_FADE_SECONDS = 1
# One thread: x264's output follows its thread count, which by default follows the
# machine's CPUs, and the same request should show the same clip anywhere.
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "23", "threads": "1"}


@dataclass(frozen=True)
class Segment:
    seconds: int
    zoom_rate: float
    pan: tuple[float, float]
    # --loop: out for half the segment and back, so that it ends where it began.
    there_and_back: bool = False


@dataclass(frozen=True)
class Clip:
    # A picture of a grid (drawn) or an image fetched from a URL (PNG bytes).
    source: Picture | bytes
    size: tuple[int, int]
    segments: tuple[Segment, ...]
    # The image the first segment ends on (--end, PNG bytes), covering the frame.
    end: bytes | None = None

    @property
    def seconds(self) -> int:
        return sum(segment.seconds for segment in self.segments)


def source_size(source: Picture | bytes) -> tuple[int, int]:
    if isinstance(source, bytes):
        with Image.open(io.BytesIO(source)) as image:
            return image.size
    return source.size


def frame_size(source_size: tuple[int, int], resolution: str) -> tuple[int, int]:
    """The clip's size: the resolution's short side, the source's shape, even sides
    (yuv420p halves the colour planes)."""
    short = SHORT_SIDES[resolution]
    width, height = source_size
    if width >= height:
        return _even(short * width / height), short
    return short, _even(short * height / width)


def first_segment(number: int, motion: str, *, loop: bool = False) -> Segment:
    """The motion of clip `number` (0-3) of a video-diffusion."""
    zoom_speed, pan_speed = SPEEDS[motion]
    zoom_share, x, y = PATHS[number]
    return Segment(FIRST_SECONDS, zoom_speed * zoom_share, (pan_speed * x, pan_speed * y), loop)


def extension_segment(clip: Clip, number: int, motion: str) -> Segment:
    """Clip `number` (0-3) of an extension: the last segment's motion, drifting."""
    last = clip.segments[-1]
    _, pan_speed = SPEEDS[motion]
    drift_x, drift_y = DRIFTS[number]
    pan = (last.pan[0] + pan_speed * drift_x, last.pan[1] + pan_speed * drift_y)
    return Segment(EXTENSION_SECONDS, last.zoom_rate, pan)


def camera_at(
    segments: tuple[Segment, ...], seconds: float, *, start_zoom: float = START_ZOOM
) -> tuple[float, float, float]:
    """(zoom, x, y) after `seconds`; x and y place the view in the room the zoom leaves."""
    log_zoom, x, y = math.log(start_zoom), 0.5, 0.5
    left = seconds
    for segment in segments:
        spent = min(left, segment.seconds)
        left -= spent
        if segment.there_and_back:
            spent = min(spent, segment.seconds - spent)
        log_zoom += segment.zoom_rate * spent
        x = _clamp(x + segment.pan[0] * spent)
        y = _clamp(y + segment.pan[1] * spent)
        if left <= 0:
            break
    return math.exp(max(0.0, log_zoom)), x, y


def frame(
    source: Image.Image, clip: Clip, index: int, end: Image.Image | None = None
) -> Image.Image:
    """Frame `index` of the clip; `end` is its end image, already covering the frame."""
    seconds = index / FPS
    if end is None:
        return _view(source, clip.size, camera_at(clip.segments, seconds))
    end_frame = clip.segments[0].seconds * FPS - 1
    if index > end_frame:
        # An extension: the camera goes on over the end image, from all of it.
        since = seconds - clip.segments[0].seconds
        return _view(end, clip.size, camera_at(clip.segments[1:], since, start_zoom=1.0))
    view = _view(source, clip.size, camera_at(clip.segments, seconds))
    fade_frames = END_FADE_SECONDS * FPS
    weight = (index - end_frame + fade_frames) / fade_frames
    return Image.blend(view, end, weight) if weight > 0 else view


def write_mp4(clip: Clip, output: str | Path) -> None:
    """Encode the clip into `output`, one frame at a time (memory stays flat)."""
    source = _source_image(clip.source)
    end = pictures.cover(_source_image(clip.end), clip.size) if clip.end is not None else None
    with av.open(str(output), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options=ENCODER_OPTIONS)
        stream.width, stream.height = clip.size
        stream.pix_fmt = "yuv420p"
        for index in range(clip.seconds * FPS):
            video_frame = av.VideoFrame.from_image(frame(source, clip, index, end))
            video_frame.pts = index
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))


def rendered_file(task_id: object, name: str, clip: Clip) -> Path:
    """The clip's mp4 file, rendered on first use. Written beside its final name and
    renamed into place, so that a second process rendering it too is harmless."""
    directory = Path(settings.MEDIA_ROOT) / "sandbox-videos"
    path = directory / f"{task_id}-{name}.mp4"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=directory, suffix=".mp4.partial")
    os.close(descriptor)
    try:
        write_mp4(clip, partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


# --- signed URLs (signed like the images) -------------------------------------------


def video_path(task_id: object, name: str) -> str:
    return reverse("sandbox:video", kwargs={"task_id": str(task_id), "name": name})


def signed_video_url(task_id: object, name: str, *, base_url: str, expires: int) -> str:
    path = video_path(task_id, name)
    return f"{base_url}{path}?expires={expires}&signature={images.signature(path, expires)}"


def _source_image(source: Picture | bytes) -> Image.Image:
    if isinstance(source, bytes):
        return Image.open(io.BytesIO(source)).convert("RGB")
    return pictures.render(source)


def _view(
    image: Image.Image, size: tuple[int, int], camera: tuple[float, float, float]
) -> Image.Image:
    zoom, x, y = camera
    width, height = image.size
    view_width, view_height = width / zoom, height / zoom
    left, top = x * (width - view_width), y * (height - view_height)
    box = (left, top, left + view_width, top + view_height)
    return image.resize(size, Image.Resampling.BILINEAR, box=box)


def _even(length: float) -> int:
    return max(2, round(length / 2) * 2)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
