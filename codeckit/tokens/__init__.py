"""Token files and LM layouts (flatten, interleave, delay, offsets, de-duplication)."""
