import io
import wave
from pathlib import Path

import av
import pytest
from PIL import Image

from studio.media.video import VideoError, clip_facts, poster_frame, preview_clip
from tests.inputs.images import image_bytes
from tests.media.clips import gradient_clip


def test_it_reads_a_clips_size_length_and_frame_rate(clip_720p: Path, clip_480p: Path) -> None:
    assert clip_facts(clip_720p) == (1280, 720, 5.0, 24.0)
    assert clip_facts(clip_480p) == (854, 480, 5.0, 24.0)


def test_it_reads_the_facts_from_bytes_as_from_a_path(clip_480p: Path) -> None:
    assert clip_facts(clip_480p.read_bytes()) == clip_facts(clip_480p)


def test_the_poster_is_a_webp_no_larger_than_1024_px(clip_720p: Path) -> None:
    poster = Image.open(io.BytesIO(poster_frame(clip_720p)))
    poster.load()
    assert poster.format == "WEBP"
    assert poster.size == (1024, 576)


def test_a_clip_smaller_than_the_poster_limit_keeps_its_size(clip_480p: Path) -> None:
    poster = Image.open(io.BytesIO(poster_frame(clip_480p)))
    assert poster.size == (854, 480)


def test_the_poster_shows_the_clip_half_a_second_in(clip_480p: Path) -> None:
    with av.open(str(clip_480p)) as container:
        frames = container.decode(video=0)
        opening = next(frames).to_image()
        half_second = next(frame for frame in frames if frame.time >= 0.5).to_image()
    poster = Image.open(io.BytesIO(poster_frame(clip_480p))).convert("RGB")
    centre = (427, 240)
    assert _close(poster.getpixel(centre), half_second.getpixel(centre))
    assert not _close(poster.getpixel(centre), opening.getpixel(centre))


def test_the_preview_is_a_small_h264_clip_as_long_as_the_original(clip_720p: Path) -> None:
    preview = preview_clip(clip_720p)
    width, height, seconds, fps = clip_facts(preview)
    assert (width, height) == (480, 270)
    assert seconds == pytest.approx(5.0, abs=0.1)
    assert fps <= 24
    with av.open(io.BytesIO(preview)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert not container.streams.audio
        assert sum(1 for _ in container.decode(stream)) == 120


def test_the_preview_starts_with_its_index_so_a_browser_plays_it_at_once(
    clip_480p: Path,
) -> None:
    preview = preview_clip(clip_480p)
    assert preview.index(b"moov") < preview.index(b"mdat")


def test_the_same_clip_makes_the_same_preview_and_poster(clip_480p: Path) -> None:
    assert preview_clip(clip_480p) == preview_clip(clip_480p)
    assert poster_frame(clip_480p) == poster_frame(clip_480p)


def test_a_faster_clip_is_previewed_at_24_frames_a_second(tmp_path: Path) -> None:
    fast = gradient_clip(tmp_path / "fast.mp4", width=320, height=180, seconds=2, fps=60)
    width, height, seconds, fps = clip_facts(preview_clip(fast))
    assert (width, height, fps) == (320, 180, 24.0)
    assert seconds == pytest.approx(2.0, abs=0.1)


def test_a_text_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("These are notes, not a video.\n" * 50)
    for make in (clip_facts, poster_frame, preview_clip):
        with pytest.raises(VideoError, match="not a video Studio can read"):
            make(text)


def test_a_clip_cut_short_before_its_index_is_refused_with_a_clear_message(
    clip_480p: Path,
) -> None:
    data = clip_480p.read_bytes()
    assert data.index(b"mdat") < data.index(b"moov")  # the index comes last
    with pytest.raises(VideoError, match="not a video Studio can read"):
        clip_facts(data[: len(data) // 2])


def test_a_clip_cut_short_after_its_index_is_refused_with_a_clear_message(
    clip_480p: Path,
) -> None:
    data = preview_clip(clip_480p)  # the index comes first
    with pytest.raises(VideoError, match=r"The video is cut short: \d+ of its 120 frames"):
        clip_facts(data[: len(data) // 2])


def test_a_still_picture_is_refused_as_not_a_video() -> None:
    png = image_bytes("PNG", size=(1280, 720))
    for make in (clip_facts, poster_frame, preview_clip):
        with pytest.raises(VideoError, match="still picture, not a video"):
            make(png)


def test_the_message_names_no_path_on_the_server(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("These are notes, not a video.\n" * 50)
    with pytest.raises(VideoError) as refusal:
        clip_facts(text)
    assert refusal.value.message == "The file is not a video Studio can read."
    assert str(tmp_path) not in str(refusal.value)


def test_a_sound_file_is_refused_as_having_no_video(tmp_path: Path) -> None:
    sound = tmp_path / "beep.wav"
    with wave.open(str(sound), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x00\x01" * 8000)
    with pytest.raises(VideoError, match="no video stream"):
        clip_facts(sound)


def _close(first: object, second: object, tolerance: int = 16) -> bool:
    assert isinstance(first, tuple) and isinstance(second, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(first, second, strict=True))
