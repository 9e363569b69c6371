"""codeckit: a neural audio codec toolkit (train, tokenize, stream, export to ONNX, score)."""

from setuptools import find_packages, setup

EXTRAS = {
    "train": ["auraloss==0.4.0", "tensorboard", "matplotlib"],
    "metrics": ["pesq", "pystoi", "visqol-python[accel,lattice]", "scipy", "numba", "matplotlib"],
    "onnx": ["onnx", "onnxruntime"],
    # the range coder of `codeckit compress`; its probability quantisation is part of the .ckc bitstream
    "compress": ["constriction>=0.5,<0.6"],
    # corpus-scale tokenization: Lhotse Shar and Parquet shards, read back by HF datasets
    "corpus": ["lhotse>=1.30,<2", "pyarrow>=15", "datasets>=3"],
    # semantic units: k-means fit, SSL extractors (HuBERT, WavLM, XLS-R), offline ASR for the WER column
    "units": ["scikit-learn>=1.4", "transformers>=4.40", "pocketsphinx>=5,<6"],
    "dev": ["pytest", "pytest-timeout", "hypothesis", "ruff", "snac==1.2.1"],
}
EXTRAS["all"] = sorted({p for k, v in EXTRAS.items() if k != "dev" for p in v})

setup(
    name="codeckit",
    version="0.1.0",
    description="Neural audio codec toolkit: Kaldi-style recipes, tokenize/detokenize API, streaming ONNX, leaderboard",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["codeckit", "codeckit.*"]),
    package_data={"codeckit": ["configs/**/*.yaml"]},
    install_requires=[
        # CPU wheel here; pin torch yourself for CUDA builds.
        "torch>=2.1",
        "numpy",
        "einops",
        "soundfile",
        "soxr",
        "safetensors",
        "pyyaml",
        "tqdm",
        # hf:ORG/NAME models (codeckit.hub); 0.23 has every call used, 3.x may change them
        "huggingface_hub>=0.23,<3",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["codeckit=codeckit.cli:main"]},
)
