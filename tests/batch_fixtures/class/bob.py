# %%
numbers = [1, 2, 3]
raise ValueError("bob's code is broken")
