"""nnexplorer: build, train, compare and tune feed-forward neural networks in the terminal."""

__version__ = "0.1.0"
