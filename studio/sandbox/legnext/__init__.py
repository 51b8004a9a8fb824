"""The sandbox speaking LegNext's Midjourney API (/work/shared/legnext-protocol.md), at
``/sandbox/legnext/api``: the base URL a LegNext client is given.

A LegNext request is translated (translation.py) into the sandbox's internal task, the
one PiAPI's API makes, so that the art engine, the pace, the fault markers, the webhook
thread and the input fetching are the same; the task records that LegNext made it
(Task.protocol) and what LegNext shows of it (input["legnext"]: its task type and price),
and payloads.py renders it as LegNext's bare job object. Each API sees only the tasks
made through it.

Where the protocol is silent, the sandbox decides:

- **Status**: pending, then ``staged`` for the first processing step (where describe and
  blend wait for their images), then processing, then completed or failed.
- **Preview**: LegNext shows none in its docs; the sandbox adds
  ``output.intermediate_image_urls`` (PiAPI's name, a one-URL list of a blurred preview)
  while a job is processing from 50 %, and leaves the key out otherwise. A client that
  ignores unknown keys (the official SDK allows them) sees LegNext's documented object.
- **Webhooks**: ``{"timestamp", "data": <job>}`` with no secret header, posted whenever
  what GET shows changes (pending, staged, processing, the preview, completed or
  failed), retried like PiAPI's.
- **available_actions**: on a grid, every documented action for images 0-3 (``edit``
  too, as LegNext lists it, whether or not the account may use /edit), ``reroll: true``,
  ``enhance`` only on a v7 draft, and pan, outpaint, inpaint, remix and edit only from
  Midjourney 5.2 (as in PiAPI's sandbox); on an upscale, enhance or remove-background
  ``{}``: LegNext follow-ups start from grids (a retexture's, an upload-paint's and an
  edit's grids are grids like any other). A follow-up is refused (400, shape B) unless its
  ``imageNo`` is listed for its action on the job it names.
- **Upscale** of a grid's image: the image upscaled (U), then upscaled again, subtly or
  creatively (twice the size); ``image_urls`` is null. **Enhance**: the draft's image
  redrawn at full size. Both show a single image.
- **Describe**: ``promptEn`` the four prompts as Midjourney writes them, ``prompts`` the
  four without their keycaps, ``finalPrompt`` the first, ``description``
  ``"/describe <link>"`` (as shorten's is its command). **Shorten**: ``promptEn`` the
  prompt, ``description`` ``"/shorten <prompt>"``, ``prompts`` its important words
  (most important first), ``finalPrompt`` a shorter prompt of the first few
  (shortening.py). The prompts come once the job is completed.
- **Retexture**: the image at ``imgUrl`` (fetched like describe's, at most 1024
  characters) in four materials, one per quadrant (posterised paint, grainy stone,
  woven fabric, embossed metal), their colours chosen by ``remixPrompt``'s words: its
  light and shade, so its shapes and edges, are kept. A 512 px grid of the image's
  shape; the same request draws the same pictures.
- **Remove-background**: the image at ``imgUrl`` as an RGBA PNG of the kept copy's size
  (at most 512 px on its long side), what is close to the border's main colours
  transparent over a soft edge, the rest opaque; ``image_urls`` lists it, ``seed`` is
  ``"0"``.
- **Upload-paint** and **edit**: the image (``imgUrl``'s, or a grid's image upscaled for
  edit) scaled into ``imgPos`` on ``canvas``; the canvas around it painted new as a zoom
  out paints, and the mask's white repainted as inpaint repaints it, every other pixel
  the placed image's. A grid of the canvas's size (scaled to 1024 px on its long side if
  larger). ``canvas`` and ``imgPos`` are objects of integers (JSON, or JSON text in a
  multipart form, as LegNext's playground posts them); canvas sides 500-4096 (the
  mask's range: the mask is drawn on the canvas), image sides 1-8192, ``x``/``y``
  anywhere the image still overlaps the canvas. The mask is upload-paint's to give and
  edit's to leave out (then only the canvas around the image is repainted); its
  ``areas`` must each say the canvas's size (their points are canvas pixels), a mask
  file or ``url`` is scaled to the canvas. **Edit** is whitelist-only on LegNext: it
  answers 403 in shape B with LegNext's message unless the setting
  ``SANDBOX_LEGNEXT_EDIT_WHITELISTED`` is on (read at each call; off by default).
- **Mode and price**: ``--turbo`` in a prompt runs turbo (twice the price), anything
  else fast (relax is not supported: it runs fast); a follow-up runs in its job's mode
  unless its own prompt names one. ``--draft`` (v7, or no ``--v``) halves a diffusion or
  a reroll. Blend, describe and shorten have one price; remove-background, which takes
  no prompt, runs fast. Retexture, upload-paint and edit cost 120, remove-background 80.
- **Balance**: $100 (100,000 credits, no points) per key; completed jobs consume their
  price, running ones hold it, failed ones cost nothing. A job whose price is more than
  what is left is refused with 402; keys starting ``nocredits`` have nothing.
- **Errors**: a bad body is 400 in shape A, naming the field; an action the named job
  does not allow (not this key's job: 404; malformed id, not completed, older than 3
  days, image not available) is shape B. The one endpoint not emulated,
  enhance-upscale, answers 404 in shape A.
- **Video** (studio/sandbox/videos.py): video-diffusion animates a grid's image (upscaled
  first, as for pan and zoom) or the image whose URL starts its prompt (fetched like
  describe's) into four 5 s clips at 24 fps, H.264 mp4 (yuv420p): a slow zoom or pan,
  each clip its own path, ``--motion high`` faster than low (the default); 480p or 720p
  is the short side, the long side keeps the image's shape. ``--raw`` is accepted and
  changes nothing; ``--loop`` makes each clip go out and back, ending on its first
  frame; ``--end <url>`` fetches that image and fades each clip into it over its last
  second, so that the last frame is the end image (covering the frame: cropped to the
  clip's shape); with ``--loop`` too, the camera goes out and back and the clip still
  ends on the end image (the end wins). Extending such a clip moves on over the end
  image.
  extend-video makes four clips of the named one, each its motion going on 4 s more (a
  different drift each), at most 4 times per chain (the 5th is shape B, 400); its prompt
  may name another ``--motion``. video-upscale makes one clip, the named one at twice
  the size. Upscaled clips are not extended or upscaled again. Output: ``video_urls``
  and ``seed: ""``, no image; ``available_actions`` is left out. Prices: 480p 480, 720p
  1536 (extensions as their video), upscale 480; turbo twice. Clips are rendered when
  first fetched and kept under MEDIA_ROOT/sandbox-videos.
"""
