"""Settings every test shares."""

from drivers.escpos_cache import use_capability_cache

# Before any test module imports python-escpos: one capability cache for the whole run,
# instead of a temporary folder left behind per process.
use_capability_cache()
