import os
import sys

from hypothesis import settings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

# No example database: runs leave nothing behind in the tree and stay
# deterministic in what they try (derandomize), so CI is reproducible.
settings.register_profile("cohesix", database=None, derandomize=True)
settings.load_profile("cohesix")
