"""Semantic units: features dumped in shards, k-means fit outside the gradient loop, published k-means files
imported without running their pickles, and units model directories (encoder + `kmeans` quantizer + vocoder).

Modules: `dump` (feature shards), `fit` (MiniBatchKMeans over shards), `published` / `unpickle` (imports of
`.npy` and fairseq joblib files), `model` (the model directory), `duration_fit` (the vocoder's duration
predictor). Import them directly; this package imports nothing heavy.
"""
