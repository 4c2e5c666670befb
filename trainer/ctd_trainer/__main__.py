import sys

from .train import run

sys.exit(run())
