"""A video clip's facts, its poster frame and its small preview, made once by the worker.

Everything streams: frames are decoded, used and dropped one at a time, so a long clip
costs no more memory than a short one. A retried task makes the same pictures again
(not always the same bytes: x264's bits have varied between runs on a loaded machine).
"""

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import NamedTuple

import av
import av.error
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

# A clip may come as the bytes just downloaded or as a path in storage.
Clip = bytes | str | os.PathLike[str]

POSTER_SIDE = 1024
# The poster is the frame at half a second: a clip's very first frame is often a fade
# from black, and half a second in is still what the clip opens on.
POSTER_SECONDS = 0.5
PREVIEW_WIDTH = 480
PREVIEW_FPS = 24
# x264's "veryfast" preset at CRF 28: small enough for a card, made in a fraction of
# the time "medium" takes, and still clean at 480 px. A fixed thread count, so that a
# busy many-core worker does not open a thread per core for a 480 px clip.
PREVIEW_OPTIONS = {"preset": "veryfast", "crf": "28", "threads": "2"}


# Said to people: FFmpeg's own words (kept as the exception's cause, for the logs) name
# paths on the server.
NOT_A_VIDEO = "The file is not a video Studio can read."
UNDECODABLE = "The video's pictures cannot be decoded."


class VideoError(Exception):
    """A file that is not a video Studio can read: not a video, broken or cut short."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClipFacts(NamedTuple):
    width: int
    height: int
    seconds: float
    fps: float


def clip_facts(clip: Clip) -> ClipFacts:
    """Width, height, duration and frame rate of the clip's first video stream.

    Every packet is read (not decoded: that is cheap) and the first picture decoded, so
    a clip cut short in the download, or whose header reads well but whose pictures do
    not, is refused here rather than in the worker's later steps."""
    with _opened(clip) as (container, stream):
        packets = 0
        decoded_one = False
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packets += 1
                if not decoded_one:
                    decoded_one = bool(stream.decode(packet))
        except av.error.FFmpegError as error:
            raise VideoError(UNDECODABLE) from error
        if not decoded_one:
            raise VideoError("The video has no pictures.")
        # The index says how many frames there are; a download cut short has fewer.
        if stream.frames and packets < stream.frames:
            raise VideoError(
                f"The video is cut short: {packets} of its {stream.frames} frames are there."
            )
        return ClipFacts(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            seconds=_seconds(container, stream),
            fps=float(_rate(stream)),
        )


def poster_frame(clip: Clip) -> bytes:
    """A WebP picture of the frame at half a second (or the last frame of a shorter
    clip), no larger than 1024 px on its longer side."""
    with _opened(clip) as (container, stream):
        poster: VideoFrame | None = None
        for seconds, frame in _timed_frames(container, stream):
            poster = frame
            if seconds >= POSTER_SECONDS:
                break
        if poster is None:
            raise VideoError("The video has no pictures.")
        image = poster.to_image()
    image.thumbnail((POSTER_SIDE, POSTER_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=82)
    return buffer.getvalue()


def preview_clip(clip: Clip) -> bytes:
    """A small muted H.264 MP4 of the whole clip: at most 480 px wide and 24 frames a
    second, yuv420p (what every browser plays), with its index first so a browser starts
    playing before the whole file has arrived."""
    with _opened(clip) as (container, stream):
        width, height = _preview_size(stream.codec_context.width, stream.codec_context.height)
        rate = min(_rate(stream), Fraction(PREVIEW_FPS))
        # MP4's faststart rewrites the finished file to move its index to the front,
        # which FFmpeg does by reading the output back by name: it needs a real file.
        with tempfile.NamedTemporaryFile(suffix=".mp4") as output_file:
            with av.open(
                output_file.name, "w", format="mp4", options={"movflags": "+faststart"}
            ) as output:
                preview = output.add_stream("libx264", rate=rate, options=PREVIEW_OPTIONS)
                preview.width = width
                preview.height = height
                preview.pix_fmt = "yuv420p"
                last_slot = -1
                for seconds, frame in _timed_frames(container, stream):
                    # Each source frame lands in the preview's frame slot for its time;
                    # a slot already filled means a faster source, and the frame is dropped.
                    slot = round(seconds * rate)
                    if slot <= last_slot:
                        continue
                    last_slot = slot
                    small = frame.reformat(width=width, height=height, format="yuv420p")
                    small.pts = slot
                    small.time_base = 1 / rate
                    output.mux(preview.encode(small))
                if last_slot < 0:
                    raise VideoError("The video has no pictures.")
                output.mux(preview.encode(None))
            return output_file.read()


@contextmanager
def _opened(clip: Clip) -> Iterator[tuple[InputContainer, VideoStream]]:
    source = io.BytesIO(clip) if isinstance(clip, bytes) else os.fspath(clip)
    try:
        container = av.open(source, "r")
    except av.error.FFmpegError as error:
        raise VideoError(NOT_A_VIDEO) from error
    with container:
        # FFmpeg opens a PNG, JPEG or WebP as a one-picture "video" through its image
        # readers (named "image2" or "<codec>_pipe").
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            raise VideoError("The file is a still picture, not a video.")
        if not container.streams.video:
            raise VideoError("The file has no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield container, stream


def _timed_frames(
    container: InputContainer, stream: VideoStream
) -> Iterator[tuple[float, VideoFrame]]:
    """Each decoded frame with its time in seconds from the clip's start: a stream may
    start past zero, and a frame without a timestamp is placed by its count."""
    offset = 0.0
    if stream.start_time and stream.time_base:
        offset = float(stream.start_time * stream.time_base)
    seconds_per_frame = 1 / float(_rate(stream))
    try:
        for count, frame in enumerate(container.decode(stream)):
            time = frame.time
            yield (count * seconds_per_frame if time is None else time - offset), frame
    except av.error.FFmpegError as error:
        raise VideoError(UNDECODABLE) from error


def _rate(stream: VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise VideoError("The video does not say its frame rate.")
    return Fraction(rate.numerator, rate.denominator)


def _seconds(container: InputContainer, stream: VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise VideoError("The video does not say how long it is.")


def _preview_size(width: int, height: int) -> tuple[int, int]:
    """The clip's size shrunk to at most 480 px wide, in even numbers (yuv420p halves
    the colour planes, so H.264 needs both sides even)."""
    scale = min(1.0, PREVIEW_WIDTH / width)
    return _even(width * scale), _even(height * scale)


def _even(side: float) -> int:
    return max(2, round(side / 2) * 2)
