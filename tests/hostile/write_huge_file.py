# Attack: fill the disk with one file larger than any limit.
chunk = b"\0" * (16 << 20)
with open("huge.bin", "wb") as fh:
    for _ in range(1 << 12):  # 64 GB if nothing stops it
        fh.write(chunk)
