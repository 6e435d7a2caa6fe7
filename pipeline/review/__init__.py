"""The review app: an editor fixes cue timing on the rendered lesson (``python -m pipeline
review``). ``sidecar`` writes the pins, ``state`` is what a lesson page shows, ``rebuild``
runs the normal build in the background, ``app`` is the thin web layer over them."""
