"""HEIC and HEIF files, the format iPhones save photos in, opened by Pillow through pi-heif.

Pillow reads no HEIF of its own. pi-heif is libheif's decode-only build (the same project as
pillow-heif, without the encoders: a smaller wheel and less code that parses what clients send),
registered as a Pillow opener, so a HEIC file goes through the same header check, size limits
and preparation as every other format. libheif keeps its own security limits on (image size,
memory, tiles). What a digit does not need is not decoded: the thumbnails, depth maps and
auxiliary images that phones store beside the photo. One decoding thread per image: the service
already decodes `decode_threads` images at once, and two cores are its whole budget.
"""

from __future__ import annotations

import pi_heif

HEIF_FORMAT = "HEIF"  # the name Pillow gives files that the opener reads

pi_heif.options.THUMBNAILS = False
pi_heif.options.DEPTH_IMAGES = False
pi_heif.options.AUX_IMAGES = False
pi_heif.options.DECODE_THREADS = 1
pi_heif.options.DISABLE_SECURITY_LIMITS = False
pi_heif.register_heif_opener()
