"""jrtext: who says what about the Japan–Russia territorial dispute, and how it shifts."""

__version__ = "0.1.0"
