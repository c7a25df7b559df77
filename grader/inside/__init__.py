"""Code that runs inside the sandbox: the kernel's hidden setup and recorder, and the evaluation
process. It imports only the standard library, TensorFlow/Keras, NumPy, IPython and itself."""
