"""Converters from released checkpoints (SNAC, EnCodec) into codeckit model directories."""
