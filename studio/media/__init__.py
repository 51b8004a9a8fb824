"""Helpers for the media Studio stores and serves, beside the image helpers in
`studio.generation.services` (results) and `studio.inputs.services` (input images).

- `studio.media.video`: facts, a poster frame and a small preview of a video clip, made
  with PyAV (FFmpeg's libraries ship in its wheel: no system ffmpeg).
- `studio.media.http`: a file response that answers HTTP Range requests, so a browser
  can seek in a clip.
"""
