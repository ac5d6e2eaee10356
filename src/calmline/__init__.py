"""calmline: a voice role-play trainer for handling difficult customers."""

__version__ = "0.1.0"
