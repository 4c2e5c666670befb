"""The PyTorch twin of ctd's 3-D CNN and the seed's training recipe.

Reads a ctd export (``ctctl export`` / ``ctd export``), trains under ``torchrun`` with
DistributedDataParallel (or alone, on CPU for tests), and writes a run folder that
``ctctl import`` brings into the daemon: ``best.safetensors`` with ctd's parameter names,
layouts and metadata, ``last.safetensors``, ``history.csv`` and ``run.json``.
"""

__version__ = "0.3.0"
