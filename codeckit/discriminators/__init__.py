"""Discriminators: mpd, msd, ms-stft, multi-band multi-resolution STFT. Importing registers them."""
