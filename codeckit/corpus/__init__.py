"""Corpora for recipes: the built-in synthetic speech corpus, real-corpus downloads and list preparation."""
