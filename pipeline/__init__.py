"""Course-video production pipeline: lesson scripts + webm recordings -> finished lessons."""

__version__ = "0.1.0"
