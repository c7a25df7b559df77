# %%
# Hostile: kill the process that started this kernel (in a batch, the grading worker).
import os
import signal

os.kill(os.getppid(), signal.SIGKILL)
