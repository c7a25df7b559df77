# Hostile: what the kernel sends as "figures" is the student's. Scripts in SVG and HTML, a data URI
# that breaks out of its attribute, base64 that is not, a PNG header claiming 100,000 x 100,000
# pixels (a decompression bomb for the reader's browser), a "PNG" that is JavaScript after its
# signature, a JPEG, an image of 600 KB, and 40 honest tiny PNGs where 24 are kept: the report
# must show only bounded PNGs, as data: URIs, and count the rest as left out.

# %%
import base64
import struct
import zlib

from IPython.display import publish_display_data


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([(x * 7 + y * 3) % 256 for x in range(width)]) for y in range(min(height, 64)))
    body = chunk(b"IHDR", header) + (chunk(b"prIv", extra) if extra else b"") + chunk(b"IDAT", zlib.compress(rows))
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


def show(mime: str, value: str) -> None:
    publish_display_data({mime: value, "text/plain": "<figure>"})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# %%
show("image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><image href="http://example.com/beacon.png"/></svg>')
publish_display_data({"text/html": '<img src="http://example.com/beacon.png"><script>alert(3)</script>'})
show("image/png", '" onerror="alert(4)')
show("image/png", "not base64 at all <script>alert(5)</script>")
show("image/png", b64(png(100_000, 100_000)))
show("image/png", b64(b"\x89PNG\r\n\x1a\n" + b"<script>alert(6)</script>"))
show("image/jpeg", b64(b"\xff\xd8\xff\xe0" + b"x" * 100))
show("image/png", b64(png(32, 32, extra=bytes(600 * 1024))))

# %%
for i in range(40):
    show("image/png", b64(png(16 + i, 16)))
