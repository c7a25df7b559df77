# %%
# Never finishes: the time limit stops it.
while True:
    pass
