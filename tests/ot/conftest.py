"""POT is the reference here through its numpy backend only.

POT imports every array library it finds (JAX, TensorFlow, CuPy) as a backend; where those
are installed, loading them into the test process costs seconds and starts thread pools
that slow the torch tests that follow.
"""

import os

for _backend in ("TENSORFLOW", "JAX", "CUPY"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_backend}", "1")
