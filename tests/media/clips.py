"""Video files made with PyAV at test time: a gradient that moves, so every frame differs."""

from pathlib import Path

import av
from PIL import Image


def gradient_clip(path: Path, *, width: int, height: int, seconds: int = 5, fps: int = 24) -> Path:
    """An H.264 MP4 of a gradient sliding across the picture, `seconds` long."""
    # Two gradients twice the picture's size; each frame crops them at a moving offset.
    across = Image.linear_gradient("L").rotate(90).resize((width * 2, height))
    down = Image.linear_gradient("L").resize((width, height * 2))
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        for index in range(seconds * fps):
            shift = index * 4
            red = across.crop((shift, 0, shift + width, height))
            green = down.crop((0, shift % height, width, shift % height + height))
            blue = Image.new("L", (width, height), (index * 8) % 256)
            frame = av.VideoFrame.from_image(Image.merge("RGB", (red, green, blue)))
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path
